/**
 * A provider that sends nothing anywhere: it accepts every message, counts what it received, and can keep the
 * last N messages for a demo page or a test to look at. An optional artificial latency per batch stands in for a
 * provider's round trip in benchmarks. It is a real PushProvider, so the scheduler cannot tell the difference.
 */
import { type PushPlatform } from '@tidegate/domain';
import { type PushMessage, type PushProvider, type SendResult } from './types';

export interface SinkProviderOptions {
  /** Milliseconds each `send` waits before answering (default 0: answers at once). */
  latencyMs?: number;
  /** How many of the latest messages to keep (default 0: only counts). */
  keepLast?: number;
}

export interface SinkStats {
  batches: number;
  messages: number;
  byPlatform: Record<PushPlatform, number>;
}

export class SinkProvider implements PushProvider {
  readonly name = 'sink';
  private readonly counts: SinkStats = { batches: 0, messages: 0, byPlatform: { fcm: 0, apns: 0, webpush: 0 } };
  private readonly ring: PushMessage[] = [];
  private ringStart = 0;
  private closed = false;

  constructor(private readonly options: SinkProviderOptions = {}) {
    if (options.keepLast !== undefined && (!Number.isInteger(options.keepLast) || options.keepLast < 0)) {
      throw new RangeError('keepLast must be a whole number, 0 or more');
    }
  }

  async send(batch: readonly PushMessage[]): Promise<SendResult[]> {
    if (this.closed) throw new Error('the sink provider is closed');
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    this.counts.batches++;
    this.counts.messages += batch.length;
    const results: SendResult[] = new Array<SendResult>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const message = batch[i] as PushMessage;
      this.counts.byPlatform[message.target.platform]++;
      this.keep(message);
      results[i] = { deviceId: message.deviceId, outcome: 'sent' };
    }
    return results;
  }

  /** Counts so far (a copy). */
  stats(): SinkStats {
    return { ...this.counts, byPlatform: { ...this.counts.byPlatform } };
  }

  /** The kept messages, oldest first. */
  lastMessages(): PushMessage[] {
    return [...this.ring.slice(this.ringStart), ...this.ring.slice(0, this.ringStart)];
  }

  reset(): void {
    this.counts.batches = 0;
    this.counts.messages = 0;
    this.counts.byPlatform = { fcm: 0, apns: 0, webpush: 0 };
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
