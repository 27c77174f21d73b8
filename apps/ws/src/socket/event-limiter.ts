/**
 * Per-socket event limits: a small token bucket per socket and event kind. A socket that sends one kind of event
 * faster than `perSecond` (after a burst of `burst`) has the extra events dropped; it is told once per run of drops,
 * and disconnected when `floodLimit` events in a row were dropped (it keeps flooding). Pure logic: the clock is
 * passed in.
 */
export interface EventLimits {
  /** Events of one kind a socket may send per second, sustained. */
  perSecond: number;
  /** Events of one kind a socket may send at once (the bucket's size). */
  burst: number;
  /** Events dropped in a row (none accepted between) after which the socket is disconnected. */
  floodLimit: number;
}

export type EventVerdict =
  | { kind: 'accept' }
  /** Drop the event; `tell` on the first drop of a run, so a flooder is told once, not once per event. */
  | { kind: 'drop'; tell: boolean; retryAfterMs: number }
  /** Drop it and disconnect the socket: it kept flooding. */
  | { kind: 'disconnect'; retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
  droppedInRow: number;
}

/** The bucket name for events the server does not know: one shared bucket, so a client cannot grow the map. */
export const OTHER_EVENTS = 'other';

export class SocketEventLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: EventLimits,
    private readonly known: ReadonlySet<string>,
  ) {}

  /** The bucket an event counts against: its own name if known, else `other`. */
  kindOf(event: string): string {
    return this.known.has(event) ? event : OTHER_EVENTS;
  }

  check(event: string, nowMs: number): EventVerdict {
    const kind = this.kindOf(event);
    const { perSecond, burst, floodLimit } = this.limits;
    let bucket = this.buckets.get(kind);
    if (!bucket) {
      bucket = { tokens: burst, at: nowMs, droppedInRow: 0 };
      this.buckets.set(kind, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, nowMs - bucket.at) * perSecond) / 1000);
    bucket.at = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.droppedInRow = 0;
      return { kind: 'accept' };
    }
    bucket.droppedInRow += 1;
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) * 1000) / perSecond);
    if (bucket.droppedInRow >= floodLimit) return { kind: 'disconnect', retryAfterMs };
    return { kind: 'drop', tell: bucket.droppedInRow === 1, retryAfterMs };
  }
}
