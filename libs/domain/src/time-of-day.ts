/** Wall-clock times of day written `HH:MM` (24-hour clock, two digits each), as minutes since local midnight. */

export const MINUTES_PER_DAY = 1440;

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * Minutes since midnight of a `HH:MM` time (`'01:30'` is 90), or null when malformed. Strict: two digits each,
 * 00:00–23:59; with `allowEndOfDay`, `'24:00'` is also accepted and is 1440 (the midnight that ends the day).
 */
export function parseTimeOfDay(value: unknown, options: { allowEndOfDay?: boolean } = {}): number | null {
  if (typeof value !== 'string') return null;
  if (options.allowEndOfDay === true && value === '24:00') return MINUTES_PER_DAY;
  const match = HH_MM.exec(value);
  if (match === null) return null;
  return Number(match[1]) * 60 + Number(match[2]);
}

/** `HH:MM` for minutes since midnight (1440 is `'24:00'`). */
export function formatTimeOfDay(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}
