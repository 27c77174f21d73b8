/** Waiting-time estimates from the measured admission rate (pure functions, no I/O). */

/**
 * Seconds until `position` (1 = next) is admitted, at `admittedPerMinute` measured over the last minute;
 * null when nobody was admitted in that minute (no rate to measure: the room is full, paused or idle).
 */
export function estimateWaitSeconds(position: number, admittedPerMinute: number): number | null {
  if (position <= 0) return 0;
  if (admittedPerMinute <= 0) return null;
  return Math.ceil((position * 60) / admittedPerMinute);
}

/**
 * Estimated wait over the room's wait budget: above 1 the room cannot absorb more arrivals in time. Null when people
 * wait and nobody is being admitted (the wait is unbounded).
 */
export function roomPressure(waiting: number, admittedPerMinute: number, maxWaitSeconds: number): number | null {
  if (waiting === 0) return 0;
  const wait = estimateWaitSeconds(waiting, admittedPerMinute);
  if (wait === null) return null;
  if (maxWaitSeconds <= 0) return null;
  return Math.round((wait / maxWaitSeconds) * 1000) / 1000;
}
