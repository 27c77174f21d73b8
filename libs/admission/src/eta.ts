/**
 * Waiting-time estimates for a room's line (pure functions, no I/O): from the room's configured capacity (libs/domain
 * `etaSeconds`: free places fill at the admission rate, then people get in as places free up) corrected by the
 * admission rate the gateway measured. One place, used by the releaser's snapshot, the JSON a waiting app polls and
 * the position the ws app pushes.
 */
import type { RoomCapacitySettings } from '@tidegate/contracts';
import { etaSeconds } from '@tidegate/domain';

/** What a room's ETA needs: its capacity (absent: the measured rate alone), admitted now, the measured rate. */
export interface RoomEtaInput {
  capacity?: RoomCapacitySettings;
  active: number;
  /** Admissions in the last minute. */
  admittedPerMinute: number;
  /** Age of the oldest waiting ticket: a line at least a minute old has a full minute of admissions measured. */
  oldestTicketAgeSeconds: number;
  /** The origin's admission factor (1 while healthy). */
  admissionFactor?: number;
}

/**
 * Seconds until `position` (1 = next) is admitted; null when the room admits nobody. The measured rate corrects the
 * configured one upward at once (places turning over faster than the session), and downward only once the line is a
 * minute old (before that the last minute's count is not a rate yet: early in a surge it would read far too slow).
 */
export function roomEtaSeconds(position: number, input: RoomEtaInput): number | null {
  if (position <= 0) return 0;
  const factor = input.admissionFactor ?? 1;
  if (!input.capacity) return estimateWaitSeconds(position, input.admittedPerMinute);
  const capacity = {
    totalActiveUsers: input.capacity.totalActiveUsers,
    newUsersPerMinute: input.capacity.newUsersPerMinute * factor,
    sessionSeconds: input.capacity.sessionDurationSeconds,
  };
  const steady = Math.min(capacity.newUsersPerMinute, (capacity.totalActiveUsers * 60) / Math.max(1, capacity.sessionSeconds));
  const trusted = input.admittedPerMinute >= steady || input.oldestTicketAgeSeconds >= 60;
  return etaSeconds(position, { capacity, active: input.active, measuredPerMinute: trusted ? input.admittedPerMinute : null });
}

/** Seconds until `position` is admitted at `admittedPerMinute` (the measured rate alone); null when it is 0. */
export function estimateWaitSeconds(position: number, admittedPerMinute: number): number | null {
  if (position <= 0) return 0;
  if (admittedPerMinute <= 0) return null;
  return Math.ceil((position * 60) / admittedPerMinute);
}

/**
 * Estimated wait over the room's wait budget: above 1 the room cannot absorb more arrivals in time. 0 when nobody
 * waits; null when people wait and the room admits nobody (the wait is unbounded).
 */
export function roomPressure(waiting: number, estimatedWaitSeconds: number | null, maxWaitSeconds: number): number | null {
  if (waiting === 0) return 0;
  if (estimatedWaitSeconds === null || maxWaitSeconds <= 0) return null;
  return Math.round((estimatedWaitSeconds / maxWaitSeconds) * 1000) / 1000;
}
