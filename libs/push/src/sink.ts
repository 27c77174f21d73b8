/**
 * A provider that sends nothing to a push service: it accepts every message, counts what it received, and can keep
 * the last N messages for a demo page or a test to look at. An optional artificial latency per batch stands in for a
 * provider's round trip in benchmarks. It is a real PushProvider, so the scheduler cannot tell the difference.
 *
 * With `forwardUrl` it hands each batch to an HTTP endpoint (the surge simulator's simulated phones, a demo): one
 * `POST` of `{ "messages": [ForwardedPush…] }` per batch, bounded by `forwardTimeoutMs`. A forward that fails (no
 * answer in time, a refused connection, a non-2xx answer) is reported to `onForwardError` and counted; the messages
 * are still `sent`: the sink is a demo and benchmark provider, and the forward is best effort.
 */
import { WAVE_TICKET_PARAM } from '@tidegate/contracts';
import { type PushPlatform } from '@tidegate/domain';
import { type PushMessage, type PushProvider, type SendResult } from './types';
import { messagePayload } from './wave-ticket';

/** One message as the sink forwards it. */
export interface ForwardedPush {
  /** The device's id in the devices table (decimal string). */
  deviceId: string;
  platform: PushPlatform;
  /** The wave ticket the push carries (`tg_wave` in its data), or null when it carries none. */
  waveTicket: string | null;
  /** The push's deep link (with the wave ticket in its query), or null. */
  deepLink: string | null;
  /** When the sink accepted the batch, ms since the epoch. */
  sentAt: number;
}

/** The body of one forward request. */
export interface SinkForwardBody {
  messages: ForwardedPush[];
}

/** How long a forward may take by default, ms. */
export const SINK_FORWARD_TIMEOUT_MS = 5000;

export interface SinkProviderOptions {
  /** Milliseconds each `send` waits before answering (default 0: answers at once). */
  latencyMs?: number;
  /** How many of the latest messages to keep (default 0: only counts). */
  keepLast?: number;
  /** POST each batch's messages as JSON to this URL (see ForwardedPush). */
  forwardUrl?: string;
  /** Bound of one forward request, ms (default SINK_FORWARD_TIMEOUT_MS). */
  forwardTimeoutMs?: number;
  /** Told about each failed forward (the send itself still succeeds). */
  onForwardError?: (error: Error, messages: number) => void;
}

export interface SinkStats {
  batches: number;
  messages: number;
  byPlatform: Record<PushPlatform, number>;
  /** Batches forwarded (answered 2xx), and those whose forward failed. */
  forwarded: number;
  forwardFailures: number;
}

export class SinkProvider implements PushProvider {
  readonly name = 'sink';
  private readonly counts: SinkStats = emptyStats();
  private readonly ring: PushMessage[] = [];
  private ringStart = 0;
  private closed = false;

  constructor(private readonly options: SinkProviderOptions = {}) {
    if (options.keepLast !== undefined && (!Number.isInteger(options.keepLast) || options.keepLast < 0)) {
      throw new RangeError('keepLast must be a whole number, 0 or more');
    }
    if (
      options.forwardUrl !== undefined &&
      !/^https?:$/.test(URL.canParse(options.forwardUrl) ? new URL(options.forwardUrl).protocol : '')
    ) {
      throw new RangeError('forwardUrl must be an absolute http(s) URL');
    }
    if (options.forwardTimeoutMs !== undefined && !(Number.isInteger(options.forwardTimeoutMs) && options.forwardTimeoutMs > 0)) {
      throw new RangeError('forwardTimeoutMs must be a whole number above 0');
    }
  }

  async send(batch: readonly PushMessage[]): Promise<SendResult[]> {
    if (this.closed) throw new Error('the sink provider is closed');
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    this.counts.batches++;
    this.counts.messages += batch.length;
    const results: SendResult[] = new Array<SendResult>(batch.length);
    const byPlatform = this.counts.byPlatform;
    const keeping = (this.options.keepLast ?? 0) > 0;
    for (let i = 0; i < batch.length; i++) {
      const message = batch[i] as PushMessage;
      byPlatform[message.target.platform]++;
      if (keeping) this.keep(message);
      results[i] = { deviceId: message.deviceId, outcome: 'sent' };
    }
    if (this.options.forwardUrl !== undefined && batch.length > 0) await this.forward(this.options.forwardUrl, batch);
    return results;
  }

  /** One POST of the batch; never throws (a failure is counted and reported). */
  private async forward(url: string, batch: readonly PushMessage[]): Promise<void> {
    const sentAt = Date.now();
    const body: SinkForwardBody = { messages: batch.map((m) => forwardedPush(m, sentAt)) };
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.forwardTimeoutMs ?? SINK_FORWARD_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) throw new Error(`the forward URL answered ${res.status}`);
      this.counts.forwarded++;
    } catch (err) {
      this.counts.forwardFailures++;
      // A DOMException (the timeout's abort) is not always an Error of this realm: read its name.
      const timedOut = (err as { name?: unknown } | null)?.name === 'TimeoutError';
      const timeoutMs = this.options.forwardTimeoutMs ?? SINK_FORWARD_TIMEOUT_MS;
      const error = timedOut ? new Error(`no answer within ${timeoutMs} ms`) : err instanceof Error ? err : new Error(String(err));
      this.options.onForwardError?.(error, batch.length);
    }
  }

  /** Counts so far (a copy). */
  stats(): SinkStats {
    return { ...this.counts, byPlatform: { ...this.counts.byPlatform } };
  }

  /** The kept messages, oldest first, each as its device gets it: the payload carrying its ticket (messagePayload). */
  lastMessages(): PushMessage[] {
    return [...this.ring.slice(this.ringStart), ...this.ring.slice(0, this.ringStart)].map((m) => ({
      deviceId: m.deviceId,
      target: m.target,
      payload: messagePayload(m),
    }));
  }

  reset(): void {
    Object.assign(this.counts, emptyStats());
    this.ring.length = 0;
    this.ringStart = 0;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async; nothing to close
  async close(): Promise<void> {
    this.closed = true;
  }

  private keep(message: PushMessage): void {
    const max = this.options.keepLast ?? 0;
    if (max === 0) return;
    if (this.ring.length < max) {
      this.ring.push(message);
    } else {
      this.ring[this.ringStart] = message;
      this.ringStart = (this.ringStart + 1) % max;
    }
  }
}

function emptyStats(): SinkStats {
  return { batches: 0, messages: 0, byPlatform: { fcm: 0, apns: 0, webpush: 0 }, forwarded: 0, forwardFailures: 0 };
}

/** What the sink forwards of a message: who, the wave ticket it carries, its deep link. */
export function forwardedPush(message: PushMessage, sentAt: number): ForwardedPush {
  const payload = messagePayload(message);
  return {
    deviceId: message.deviceId,
    platform: message.target.platform,
    waveTicket: payload.data?.[WAVE_TICKET_PARAM] ?? null,
    deepLink: payload.deepLink ?? null,
    sentAt,
  };
}
