/**
 * Recipients' local quiet hours (e.g. 22:00–08:00): a recipient whose own wall-clock time is inside them is held until
 * they end. Applied in each recipient's IANA time zone (the device's `timezone`); a missing or unknown zone falls
 * back to UTC (`recipientTimeZone`), so one bad device row never blocks a batch.
 *
 * Rules (docs/dispatch.md):
 * - `start` and `end` are `HH:MM` (00:00–23:59). `end` before `start` crosses midnight (22:00–08:00, the usual
 *   case); `end` after `start` is a span within one day (13:00–15:00); `end` equal to `start` is refused.
 * - The quiet period that starts on local date D runs from D `start` to `end` (on D, or on D+1 when it crosses
 *   midnight), both resolved like send windows: a skipped time moves to the jump, a repeated time is its first
 *   occurrence. Periods are half-open: at the instant they end the recipient may be sent to.
 */
import { type FieldError, fieldPath, isRecord } from './field-errors';
import { parseTimeOfDay } from './time-of-day';
import { type LocalDate, addDays, localDateOf, localToInstant, recipientTimeZone } from './time-zone';

export interface QuietHours {
  /** When quiet hours begin, `HH:MM` in the recipient's zone. */
  start: string;
  /** When they end, `HH:MM` in the recipient's zone; before `start` means the next morning. */
  end: string;
}

/** Field-level errors for quiet hours (empty when valid): `<field>.start`, `<field>.end`. */
export function validateQuietHours(value: unknown, field = 'quietHours'): FieldError[] {
  if (value === undefined || value === null) return [{ field, code: 'required', message: 'quiet hours are required here' }];
  if (!isRecord(value)) return [{ field, code: 'invalid_type', message: 'must be an object { start: "HH:MM", end: "HH:MM" }' }];
  const errors: FieldError[] = [];
  const parsed = (['start', 'end'] as const).map((key) => {
    const path = fieldPath(field, key);
    const raw = value[key];
    if (raw === undefined || raw === null) {
      errors.push({ field: path, code: 'required', message: 'is required (HH:MM)' });
      return null;
    }
    const minutes = parseTimeOfDay(raw);
    if (minutes === null)
      errors.push({ field: path, code: 'invalid_time', message: `${JSON.stringify(raw)} is not a time of day HH:MM (00:00 to 23:59)` });
    return minutes;
  });
  if (parsed[0] !== null && parsed[1] !== null && parsed[0] === parsed[1]) {
    errors.push({
      field: fieldPath(field, 'end'),
      code: 'quiet_hours_empty',
      message: 'must differ from start (equal times would mean no quiet hours or all day: omit them, or pick a span)',
    });
  }
  return errors;
}

interface CompiledQuietHours {
  startMinute: number;
  endMinute: number;
}

function compile(quietHours: QuietHours): CompiledQuietHours {
  const errors = validateQuietHours(quietHours);
  if (errors.length > 0) throw new RangeError(`Invalid quiet hours: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
  return { startMinute: parseTimeOfDay(quietHours.start)!, endMinute: parseTimeOfDay(quietHours.end)! };
}

/** The quiet period that starts on local date `date`, as epoch ms (possibly empty when it falls in a skipped hour). */
function periodFrom(q: CompiledQuietHours, timezone: string, date: LocalDate): { starts: number; ends: number } {
  const crossesMidnight = q.endMinute < q.startMinute;
  return {
    starts: localToInstant(timezone, date, q.startMinute),
    ends: localToInstant(timezone, crossesMidnight ? addDays(date, 1) : date, q.endMinute),
  };
}

/** The quiet period containing `at` (ms), or null. Periods starting the day before, the day of, and the day after. */
function periodContaining(q: CompiledQuietHours, timezone: string, at: number): { starts: number; ends: number } | null {
  const today = localDateOf(timezone, at);
  for (const offset of [-1, 0, 1]) {
    const period = periodFrom(q, timezone, addDays(today, offset));
    if (period.starts <= at && at < period.ends) return period;
  }
  return null;
}

/** True when `at` is inside the recipient's quiet hours, in their zone (`timezone`; unknown or missing: UTC). */
export function isQuiet(quietHours: QuietHours, timezone: string | null | undefined, at: Date): boolean {
  return periodContaining(compile(quietHours), recipientTimeZone(timezone), at.getTime()) !== null;
}

/**
 * The earliest instant at or after `at` when the recipient is NOT in quiet hours: `at` itself when they are not quiet
 * now, else the instant their quiet hours end (in their zone; unknown or missing: UTC). Never quiet at the result.
 */
export function quietUntil(quietHours: QuietHours, timezone: string | null | undefined, at: Date): Date {
  const q = compile(quietHours);
  const zone = recipientTimeZone(timezone);
  let t = at.getTime();
  // Periods can touch only when both ends fall in one skipped hour; a few steps always get out.
  for (let step = 0; step < 4; step++) {
    const period = periodContaining(q, zone, t);
    if (period === null) break;
    t = period.ends;
  }
  return new Date(t);
}

/** Recipients split by quiet hours at one instant: who can be sent to now, and who waits until when. */
export interface QuietHoursSplit<T> {
  ready: T[];
  /** Held recipients grouped by the instant their quiet hours end, earliest first. */
  held: { until: Date; recipients: T[] }[];
}

/**
 * Splits a batch of recipients by their quiet hours at `at`. Each recipient's `timezone` is theirs (unknown or
 * missing: UTC); zones are computed once per call, so a batch of 500 in a few zones costs a few zone look-ups.
 * With no quiet hours (null or undefined) everyone is ready.
 */
export function splitByQuietHours<T extends { timezone?: string | null }>(
  recipients: readonly T[],
  quietHours: QuietHours | null | undefined,
  at: Date,
): QuietHoursSplit<T> {
  if (quietHours === null || quietHours === undefined) return { ready: [...recipients], held: [] };
  compile(quietHours); // fail fast on invalid quiet hours, even for an empty batch
  const releaseByZone = new Map<string, number>();
  const ready: T[] = [];
  const held = new Map<number, T[]>();
  for (const recipient of recipients) {
    const zone = recipientTimeZone(recipient.timezone);
    let release = releaseByZone.get(zone);
    if (release === undefined) {
      release = quietUntil(quietHours, zone, at).getTime();
      releaseByZone.set(zone, release);
    }
    if (release <= at.getTime()) ready.push(recipient);
    else {
      const group = held.get(release);
      if (group === undefined) held.set(release, [recipient]);
      else group.push(recipient);
    }
  }
  return {
    ready,
    held: [...held.entries()].sort(([a], [b]) => a - b).map(([until, list]) => ({ until: new Date(until), recipients: list })),
  };
}
