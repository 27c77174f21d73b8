import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { emptyOriginSecond, OriginStatsStore, type OriginSecond } from '@tidegate/admission';
import { ORIGIN_WINDOW_SECONDS } from '@tidegate/contracts';
import { LATENCY_BUCKETS_MS, latencyBucket, type OriginErrorKind } from '@tidegate/domain';
import { MetricsRegistry } from '@tidegate/observability';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';

/** How often the seconds this gateway finished measuring are added to Redis. */
const FLUSH_EVERY_MS = 500;

/**
 * Measures each room's origin as this gateway talks to it: every proxied request's time to the origin's answer
 * (response headers; for a WebSocket upgrade, the handshake), 5xx answers, and connection errors. Exported to
 * Prometheus at once (`tidegate_origin_request_seconds`, `tidegate_origin_errors_total`) and kept per room per epoch
 * second in a small histogram until added to Redis, where every gateway's seconds add up for the releasers to judge
 * (OriginHealthJudge). Memory is bounded: a room holds at most the window's seconds while Redis is unreachable.
 */
@Injectable()
export class OriginMonitor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OriginMonitor.name);
  private readonly store: OriginStatsStore;
  private readonly seconds = new Map<string, Map<number, OriginSecond>>();
  private readonly latency: Histogram<'room'>;
  private readonly errors: Counter<'room' | 'kind'>;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private failing = false;

  constructor(@Inject(REDIS) redis: RedisClient, keys: RedisKeys, metrics: MetricsRegistry) {
    this.store = new OriginStatsStore(redis, keys);
    this.latency = new Histogram({
      name: 'tidegate_origin_request_seconds',
      help: "Time from sending a request to a room's origin to its answer's headers (WebSocket: the handshake), by room",
      labelNames: ['room'],
      buckets: LATENCY_BUCKETS_MS.map((ms) => ms / 1000),
      registers: [metrics],
    });
    this.errors = new Counter({
      name: 'tidegate_origin_errors_total',
      help: "Requests to a room's origin that failed, by room and kind (status_5xx, refused, reset, timeout, other)",
      labelNames: ['room', 'kind'],
      registers: [metrics],
    });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The origin answered (any status) after `latencyMs`; a 5xx counts as an error too. */
  answered(roomId: string, status: number, latencyMs: number): void {
    const second = this.second(roomId);
    second.requests++;
    second.latency[latencyBucket(latencyMs)]!++;
    this.latency.observe({ room: roomId }, latencyMs / 1000);
    if (status >= 500) {
      second.errors.status_5xx++;
      this.errors.inc({ room: roomId, kind: 'status_5xx' });
    }
  }

  /** The request to the origin failed without an answer (refused, reset, timed out…). */
  failed(roomId: string, kind: OriginErrorKind): void {
    const second = this.second(roomId);
    second.requests++;
    second.errors[kind]++;
    this.errors.inc({ room: roomId, kind });
  }

  /** Adds every finished second to Redis (the current one goes on counting). */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    const now = Math.floor(Date.now() / 1000);
    try {
      for (const [roomId, seconds] of this.seconds) {
        for (const [second, counts] of seconds) {
          if (second >= now) continue;
          if (second < now - ORIGIN_WINDOW_SECONDS) {
            seconds.delete(second); // out of the window: no longer worth adding
            continue;
          }
          await this.store.add(roomId, second, counts);
          seconds.delete(second);
        }
        if (seconds.size === 0) this.seconds.delete(roomId);
      }
      if (this.failing) this.logger.log('origin measurements reach Redis again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn(`origin measurements not written: ${err instanceof Error ? err.message : String(err)}; retrying`);
      this.failing = true;
    } finally {
      this.flushing = false;
    }
  }

  private second(roomId: string): OriginSecond {
    const now = Math.floor(Date.now() / 1000);
    let seconds = this.seconds.get(roomId);
    if (!seconds) this.seconds.set(roomId, (seconds = new Map<number, OriginSecond>()));
    let counts = seconds.get(now);
    if (!counts) seconds.set(now, (counts = emptyOriginSecond()));
    return counts;
  }
}

/** The kind of a failed request to an origin, from the error (and its cause) reply-from or http report. */
export function originErrorKind(err: unknown): OriginErrorKind {
  const codes: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  if (codes.some((c) => c === 'ECONNREFUSED')) return 'refused';
  if (codes.some((c) => /TIMEOUT/.test(c) || c === 'ETIMEDOUT')) return 'timeout';
  if (codes.some((c) => c === 'ECONNRESET' || c === 'UND_ERR_SOCKET' || c === 'EPIPE' || c === 'UND_ERR_CLOSED')) return 'reset';
  return 'other';
}
