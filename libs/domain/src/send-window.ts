/**
 * Idle-hour send windows: the hours of the day, in one time zone's wall-clock time, during which a campaign may send
 * (e.g. 01:00–06:00 Europe/Paris, while the customer's origin is quiet). Pure functions; every instant is passed in.
 *
 * Rules (docs/dispatch.md explains why):
 * - `start` and `end` are `HH:MM`; `end` must be after `start` (a window never crosses midnight), and may be `24:00`
 *   to run to the end of the day. `end` equal to or before `start` is refused, and so is 00:00–24:00 (no window at
 *   all: omit it instead).
 * - The window on local date D is the instants from D `start` to D `end`, each resolved by `localToInstant`: a time
 *   in the skipped hour moves to the jump, a time in the repeated hour is its first occurrence. So on the day Paris
 *   springs forward a 01:00–06:00 window lasts 4 real hours; on the day it falls back, 6.
 * - Open intervals are half-open, [opens, closes): at the closing instant the window is already shut.
 */
import { type FieldError, fieldPath, isRecord } from './field-errors';
import { MINUTES_PER_DAY, parseTimeOfDay } from './time-of-day';
import { type LocalDate, addDays, isValidTimeZone, localDateOf, localToInstant } from './time-zone';

export interface SendWindow {
  /** Opening time, `HH:MM` in `timezone` (00:00–23:59). */
  start: string;
  /** Closing time, `HH:MM` in `timezone`, after `start` (01:00–24:00). */
  end: string;
  /** IANA time zone name, e.g. `Europe/Paris`. */
  timezone: string;
}

/** One opening of a window: sending allowed from `opensAt` (inclusive) until `closesAt` (exclusive). */
export interface WindowInterval {
  opensAt: Date;
  closesAt: Date;
}

/** A search for the next opening gives up after this many days (a valid window opens at least every other day). */
const SEARCH_DAYS = 400;

/**
 * Field-level errors for a send window (empty when valid). `field` is the window's path in the request body; errors
 * name `<field>.start`, `<field>.end`, `<field>.timezone`, or `<field>` itself.
 */
export function validateSendWindow(value: unknown, field = 'sendWindow'): FieldError[] {
  if (value === undefined || value === null) return [{ field, code: 'required', message: 'a send window is required here' }];
  if (!isRecord(value)) {
    return [{ field, code: 'invalid_type', message: 'must be an object { start: "HH:MM", end: "HH:MM", timezone }' }];
  }
  const errors: FieldError[] = [];
  const start = timeOfDay(value.start, fieldPath(field, 'start'), false, errors);
  const end = timeOfDay(value.end, fieldPath(field, 'end'), true, errors);
  const tz = value.timezone;
  const tzField = fieldPath(field, 'timezone');
  if (tz === undefined || tz === null)
    errors.push({ field: tzField, code: 'required', message: 'is required (an IANA zone, e.g. Europe/Paris)' });
  else if (typeof tz !== 'string') errors.push({ field: tzField, code: 'invalid_type', message: 'must be a string' });
  else if (!isValidTimeZone(tz)) {
    errors.push({ field: tzField, code: 'unknown_time_zone', message: `${JSON.stringify(tz)} is not a known IANA time zone` });
  }
  if (start !== null && end !== null) {
    if (end <= start) {
      errors.push({
        field: fieldPath(field, 'end'),
        code: 'window_end_not_after_start',
        message: `must be after start (${String(value.start)}): a send window cannot cross midnight (use 24:00 to run to the end of the day)`,
      });
    } else if (start === 0 && end === MINUTES_PER_DAY) {
      errors.push({ field, code: 'window_all_day', message: '00:00-24:00 is the whole day: omit the send window to send at any time' });
    }
  }
  return errors;
}

function timeOfDay(value: unknown, field: string, isEnd: boolean, errors: FieldError[]): number | null {
  if (value === undefined || value === null) {
    errors.push({ field, code: 'required', message: 'is required (HH:MM)' });
    return null;
  }
  const minutes = parseTimeOfDay(value, { allowEndOfDay: isEnd });
  if (minutes === null) {
    const range = isEnd ? '00:00 to 24:00' : '00:00 to 23:59';
    errors.push({ field, code: 'invalid_time', message: `${JSON.stringify(value)} is not a time of day HH:MM (${range})` });
  }
  return minutes;
}

/** A validated window, ready for maths. */
interface CompiledWindow {
  startMinute: number;
  endMinute: number;
  timezone: string;
}

function compile(window: SendWindow): CompiledWindow {
  const errors = validateSendWindow(window);
  if (errors.length > 0) {
    throw new RangeError(`Invalid send window: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
  }
  return {
    startMinute: parseTimeOfDay(window.start)!,
    endMinute: parseTimeOfDay(window.end, { allowEndOfDay: true })!,
    timezone: window.timezone,
  };
}

/** The window of local date `date` as epoch ms, or null when it is empty that day (it lies wholly in a skipped hour). */
function windowOn(w: CompiledWindow, date: LocalDate): { opens: number; closes: number } | null {
  const opens = localToInstant(w.timezone, date, w.startMinute);
  const closes = localToInstant(w.timezone, date, w.endMinute);
  return closes > opens ? { opens, closes } : null;
}

/**
 * The window's openings in order, as epoch ms, starting with the one that contains `from` if it is open then, else
 * the next one. Openings that touch (only possible when a midnight is skipped) are merged into one. Ends only if the
 * window stays shut for {@link SEARCH_DAYS} days, which a valid window never does.
 */
export function* windowOpenings(window: SendWindow, from: Date): Generator<{ opens: number; closes: number }, void, undefined> {
  const w = compile(window);
  const fromMs = from.getTime();
  let date = addDays(localDateOf(w.timezone, fromMs), -1);
  let pending: { opens: number; closes: number } | null = null;
  let idleDays = 0;
  while (idleDays < SEARCH_DAYS) {
    const next = windowOn(w, date);
    date = addDays(date, 1);
    idleDays += 1;
    if (next === null || next.closes <= fromMs) continue;
    if (pending !== null && next.opens <= pending.closes) {
      pending.closes = Math.max(pending.closes, next.closes);
      continue;
    }
    if (pending !== null) {
      yield pending;
      idleDays = 0;
    }
    pending = next;
  }
  if (pending !== null) yield pending;
}

/** The opening that contains `at`, or the next one after it. */
function firstOpening(window: SendWindow, at: Date): { opens: number; closes: number } {
  const first = windowOpenings(window, at).next();
  if (first.done === true) throw new RangeError(`The send window never opens within ${SEARCH_DAYS} days`);
  return first.value;
}

/** True when sending is allowed at instant `at`: `at` is in some day's window [opens, closes). */
export function isInsideWindow(window: SendWindow, at: Date): boolean {
  return firstOpening(window, at).opens <= at.getTime();
}

/**
 * The earliest instant at or after `after` at which the window is open: `after` itself when the window is open then,
 * else the next opening. (For the opening after the current one: `nextWindowOpen(w, windowCloseAfter(w, t))`.)
 */
export function nextWindowOpen(window: SendWindow, after: Date): Date {
  const opening = firstOpening(window, after);
  return new Date(Math.max(opening.opens, after.getTime()));
}

/** When the window that is open at `at` closes (the first instant it is shut); null when it is not open at `at`. */
export function windowCloseAfter(window: SendWindow, at: Date): Date | null {
  const opening = firstOpening(window, at);
  return opening.opens <= at.getTime() ? new Date(opening.closes) : null;
}

/**
 * The window's openings that overlap [from, until), in order: for a preview or a calendar view. At most `limit`
 * (default 366) are returned.
 */
export function windowIntervals(window: SendWindow, from: Date, until: Date, limit = 366): WindowInterval[] {
  const out: WindowInterval[] = [];
  for (const opening of windowOpenings(window, from)) {
    if (opening.opens >= until.getTime() || out.length >= limit) break;
    out.push({ opensAt: new Date(opening.opens), closesAt: new Date(opening.closes) });
  }
  return out;
}
