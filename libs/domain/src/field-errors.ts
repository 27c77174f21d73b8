/**
 * Field-level validation errors, shaped for a 400 response: which field (a dotted path into the request body, e.g.
 * `sendWindow.end`), a stable code a client can switch on, and a sentence a person can read.
 */
export type FieldErrorCode =
  /** The field is missing (or null where a value is needed). */
  | 'required'
  /** The field has the wrong JSON type (a string where a number is expected, an array where an object is…). */
  | 'invalid_type'
  /** A count that must be a whole number is not. */
  | 'not_an_integer'
  /** A number outside its allowed range (batch size 0 or 501, a rate of 0 or below, a negative interval…). */
  | 'out_of_range'
  /** A time of day that is not `HH:MM` (00:00–23:59; a window's end may also be 24:00). */
  | 'invalid_time'
  /** A time zone that is not an IANA name known to the runtime's ICU data (`Europe/Paris`, `UTC`…). */
  | 'unknown_time_zone'
  /** A send window whose end is not after its start (windows do not cross midnight; see docs/dispatch.md). */
  | 'window_end_not_after_start'
  /** A send window covering the whole day (00:00–24:00): that is no window, omit it. */
  | 'window_all_day'
  /** Quiet hours that start and end at the same time (zero length, or all day: ambiguous, so refused). */
  | 'quiet_hours_empty'
  /** A wave size smaller than the batch size. */
  | 'less_than_batch_size'
  /** A provider name that is not one of `fcm`, `apns`, `webpush`. */
  | 'unknown_platform'
  /** A date that is not a valid instant (an ISO 8601 string must carry `Z` or an offset). */
  | 'invalid_date'
  /** A start time earlier than now, beyond the tolerance. */
  | 'in_the_past'
  /** The plan would need more waves than a preview may compute. */
  | 'too_many_waves'
  /** The plan would last longer than a preview may compute. */
  | 'plan_too_long';

export interface FieldError {
  /** Dotted path into the input, e.g. `batchSize`, `sendWindow.end`, `rateLimits.providerPerMinute.fcm`. */
  field: string;
  code: FieldErrorCode;
  message: string;
}

/** Joins a parent path and a key: `at('sendWindow', 'end')` is `sendWindow.end`; `at('', 'end')` is `end`. */
export function fieldPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** True for a plain object (not null, not an array): what a JSON object decodes to. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
