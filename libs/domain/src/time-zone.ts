/**
 * Wall-clock maths in IANA time zones, on the `Intl` API alone (Node's full ICU carries the tz database; Node 20
 * has no Temporal). Instants are epoch milliseconds; nothing here reads the system clock or the process time zone.
 *
 * The one rule that matters, used by send windows and quiet hours alike (`localToInstant`):
 * - a wall-clock time that happens twice (the repeated hour when clocks go back) is its FIRST occurrence;
 * - a wall-clock time that never happens (the skipped hour when clocks go forward) moves to the first valid instant
 *   after it: the instant of the transition (in Paris on 2026-03-29, 02:00 and 02:30 both become 03:00 CEST).
 * Both choices keep the mapping monotonic: a later wall-clock time never resolves to an earlier instant.
 */

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The zone recipients fall back to when their device has none, or one the runtime does not know. */
export const FALLBACK_TIME_ZONE = 'UTC';

/** A calendar date in some zone (month 1–12). */
export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

/** A wall-clock date and time in some zone, to the second. */
export interface LocalDateTime extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

/** Cached formatters by zone name (null: the runtime rejected the name). Bounded: names come from user input. */
const formatters = new Map<string, Intl.DateTimeFormat | null>();
const MAX_CACHED_ZONES = 1000;
/** Longest name accepted; the longest IANA name is about 32 characters. */
const MAX_ZONE_NAME_LENGTH = 64;
/**
 * A UTC offset (`+05:30`, `-0800`, `−05`): Node 24 (ECMA-402 2024) takes these as a `timeZone`, Node 20 did not. They
 * are not zone names (no DST, no history), and no IANA name starts with a sign.
 */
const UTC_OFFSET = /^[+\-\u2212]/;

function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  const cached = formatters.get(timeZone);
  if (cached !== undefined) return cached;
  let formatter: Intl.DateTimeFormat | null = null;
  if (timeZone.length > 0 && timeZone.length <= MAX_ZONE_NAME_LENGTH && !UTC_OFFSET.test(timeZone)) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      formatter = null;
    }
  }
  if (formatters.size >= MAX_CACHED_ZONES) formatters.clear();
  formatters.set(timeZone, formatter);
  return formatter;
}

function requireFormatter(timeZone: string): Intl.DateTimeFormat {
  const formatter = formatterFor(timeZone);
  if (formatter === null) throw new RangeError(`Unknown time zone: ${JSON.stringify(timeZone)}`);
  return formatter;
}

/**
 * True when the runtime knows `timeZone` as an IANA zone name. Names are matched case-insensitively and links
 * (`Asia/Calcutta`, `US/Eastern`, `GMT`) are accepted, as ICU does; offsets such as `+05:30` are not zone names.
 */
export function isValidTimeZone(timeZone: unknown): timeZone is string {
  return typeof timeZone === 'string' && formatterFor(timeZone) !== null;
}

/** The runtime's spelling of a zone (`europe/paris` → `Europe/Paris`), or null when unknown: what to store. */
export function canonicalTimeZone(timeZone: string): string | null {
  return formatterFor(timeZone)?.resolvedOptions().timeZone ?? null;
}

/**
 * The zone to use for a recipient: their own when valid, else UTC. Devices may have no zone, or a stale or
 * mistyped one; such a recipient gets quiet hours in UTC rather than an error that would block the whole batch.
 */
export function recipientTimeZone(timeZone: string | null | undefined): string {
  return timeZone !== null && timeZone !== undefined && isValidTimeZone(timeZone) ? timeZone : FALLBACK_TIME_ZONE;
}

/** Epoch ms of a UTC date-time; unlike `Date.UTC`, years 0–99 are not moved to the 1900s. */
function utcMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

/** The wall-clock date and time in `timeZone` at instant `at` (ms), to the second. */
export function localDateTime(timeZone: string, at: number): LocalDateTime {
  const parts = requireFormatter(timeZone).formatToParts(new Date(Math.floor(at / SECOND_MS) * SECOND_MS));
  const value = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: value('year'),
    month: value('month'),
    day: value('day'),
    hour: value('hour') % 24,
    minute: value('minute'),
    second: value('second'),
  };
}

/** The calendar date in `timeZone` at instant `at` (ms). */
export function localDateOf(timeZone: string, at: number): LocalDate {
  const { year, month, day } = localDateTime(timeZone, at);
  return { year, month, day };
}

/** The zone's offset from UTC at instant `at`, in ms (Paris in summer: 7,200,000; New York in winter: -18,000,000). */
export function offsetMs(timeZone: string, at: number): number {
  const whole = Math.floor(at / SECOND_MS) * SECOND_MS;
  const l = localDateTime(timeZone, whole);
  return utcMs(l.year, l.month, l.day, l.hour, l.minute, l.second) - whole;
}

/** The date `days` after `date` (negative: before), in the proleptic Gregorian calendar. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(utcMs(date.year, date.month, date.day) + days * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The instant (ms) at which the clocks in `timeZone` show `date` at `minuteOfDay` minutes past midnight (1440 is
 * the next day's midnight). A repeated time resolves to its first occurrence; a skipped time to the instant the
 * clocks jump (the first valid instant after it). See the module comment.
 */
export function localToInstant(timeZone: string, date: LocalDate, minuteOfDay: number): number {
  const wall = utcMs(date.year, date.month, date.day) + minuteOfDay * MINUTE_MS;
  // Offsets anywhere within ±18 h of the wall time cover every instant that could show it (offsets are within ±14 h).
  const offsets = [
    ...new Set([offsetMs(timeZone, wall - 18 * HOUR_MS), offsetMs(timeZone, wall), offsetMs(timeZone, wall + 18 * HOUR_MS)]),
  ];
  const valid = offsets.map((o) => wall - o).filter((t) => offsetMs(timeZone, t) === wall - t);
  if (valid.length > 0) return Math.min(...valid);

  // Skipped: the clocks went from before `wall` straight to after it. Find the transition between the instant that
  // would show `wall` under the later (larger) offset and the one under the earlier (smaller) offset.
  let lo = wall - Math.max(...offsets);
  let hi = wall - Math.min(...offsets);
  const before = offsetMs(timeZone, lo);
  if (offsetMs(timeZone, hi) === before) return wall - offsetMs(timeZone, wall); // no transition found: cannot happen
  while (hi - lo > SECOND_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / SECOND_MS) * SECOND_MS;
    if (offsetMs(timeZone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}
