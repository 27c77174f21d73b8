/**
 * When to try again: the provider's `Retry-After`, or exponential backoff with jitter (half fixed, half random).
 */
import { type SendResult } from './types';

/**
 * `Retry-After` (RFC 9110 §10.2.3) in milliseconds from `nowMs`: either delay-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`; a date in the past means 0). Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, nowMs: number): number | undefined {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  // An HTTP date always names the weekday and the time zone (IMF-fixdate, RFC 850 or asctime): refuse bare numbers
  // with signs or decimals, which Date.parse would read as years.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Exponential backoff with "equal jitter": a uniformly random delay in [c / 2, c), c = min(cap, base * 2^attempt), in
 * whole milliseconds. `attempt` counts from 0 (the first retry); `random` returns [0, 1) like Math.random.
 *
 * Half of each step is fixed so that retries cannot use up their attempts in a hurry: with base 1 s, the fifth answer
 * of an outage comes at least 0.5 + 1 + 2 + 4 = 7.5 s after the first, time for the guards (docs/dispatch.md) to
 * judge the provider and pause the campaign before anyone is failed. Full jitter ([0, c)) let a batch's four retries
 * all draw near 0 (measured: five attempts in about 5 s, docs/faults.md). The other half stays random, so retried
 * batches still spread out.
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(Math.floor(attempt), 52));
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  const floor = Math.floor(ceiling / 2);
  return Math.min(floor + Math.floor(r * (ceiling - floor)), Math.max(0, Math.ceil(ceiling) - 1));
}

/** The result for a message that could not be sent because of the transport (timeout, refused, reset…). */
export function transportFailure(deviceId: string, err: unknown): SendResult {
  return { deviceId, outcome: 'retry', reason: errorReason(err) };
}

/**
 * A short, stable reason for a transport error: its root cause's code (`ECONNREFUSED` rather than the HTTP/2
 * stream's `ERR_HTTP2_STREAM_CANCEL`), `timeout`, or else its message. Duck-typed: Node's errors may come from
 * another realm (Jest), where `instanceof Error` is false.
 */
export function errorReason(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (typeof cause !== 'object' || cause === null || typeof (cause as { code?: unknown }).code !== 'string') break;
    current = cause;
  }
  const { code, message } = (current ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return code;
  if (typeof message === 'string') return message;
  return String(err);
}
