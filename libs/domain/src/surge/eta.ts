/**
 * Honest waits for someone in the line: from the room's configured capacity (free places fill at the admission rate,
 * then people get in as places free up: places / session), blended with the rate measured at the gateway, so an
 * estimate is right early in a surge (nothing measured yet) and reacts at once to a capacity change.
 */
import { steadyAdmitsPerSecond, type RoomCapacity } from './room-flow';

export interface EtaInput {
  capacity: RoomCapacity;
  /** Admitted now (holding places). */
  active: number;
  /** Admissions per minute measured over the last minute (or over the time since admissions began, if shorter); null: none measured. */
  measuredPerMinute: number | null;
}

/** Weight of the measured rate in the blend (the configured model gets the rest). */
export const MEASURED_WEIGHT = 0.3;

/**
 * Seconds until `position` (1 = next) is admitted. The first (places free now) go at the admission rate, the rest at
 * the steady rate min(admission rate, places / session); the measured rate corrects the steady part (a session much
 * shorter than configured turns places over faster). Null when the room admits nobody (a rate or capacity of 0).
 */
export function etaSeconds(position: number, input: EtaInput): number | null {
  if (position <= 0) return 0;
  const rate = input.capacity.newUsersPerMinute / 60;
  const steadyModel = steadyAdmitsPerSecond(input.capacity);
  if (rate <= 0 || steadyModel <= 0) return null;
  const measured = input.measuredPerMinute === null ? null : input.measuredPerMinute / 60;
  const steady =
    measured !== null && measured > 0 ? Math.min(rate, (1 - MEASURED_WEIGHT) * steadyModel + MEASURED_WEIGHT * measured) : steadyModel;
  const free = Math.max(0, input.capacity.totalActiveUsers - input.active);
  const first = Math.min(position, free);
  return Math.ceil(first / rate + (position - first) / steady);
}
