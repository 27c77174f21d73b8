/**
 * @nestjs/throttler storage on Redis, shared by every gateway instance: one atomic Lua call per check
 * (libs/redis/src/scripts/throttle-1.lua, a fixed window with an optional block), one key per throttler and client.
 *
 * If Redis fails, the check fails open: the request is allowed, `tidegate_throttle_errors_total` counts it and the
 * outage is logged once. The waiting room behind the throttle still protects the origin; a 500 would not.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { MetricsRegistry } from '@tidegate/observability';
import { defineScript, type RedisClient, type RedisKeys, type ScriptCall } from '@tidegate/redis';
import { Counter } from 'prom-client';

/** The throttler's record type (its package index does not export it). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** What the storage returns: the throttler's record, marked when the check could not be made. */
export interface GatewayThrottlerRecord extends ThrottlerStorageRecord {
  /** Redis failed: the request is allowed without being counted, and the counts are unknown. */
  failedOpen?: true;
}

/** {hits, ttlMs, blocked, blockTtlMs}, see the script's header. */
type ThrottleReply = [number, number, number, number];

/** Client keys used verbatim in the Redis key; a subset of what RedisKeys accepts. Anything else is hashed. */
const VERBATIM_CLIENT_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Client part of the Redis key: the guard's key itself when it is short and plain (readable), else `sha1:<hex>`. */
export function clientKeyFor(key: string): string {
  return VERBATIM_CLIENT_KEY.test(key) ? key : `sha1:${createHash('sha1').update(key).digest('hex')}`;
}

/** Whole seconds, rounded up and at least 1 (the throttler's records and HTTP headers count in seconds). */
export const toSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** Rooms whose key names are kept (past this the cache starts over). */
const MAX_CACHED_ROOMS = 1024;

export const THROTTLE_ERRORS_METRIC = 'tidegate_throttle_errors_total';

export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('Throttle');
  private readonly throttle: ScriptCall<ThrottleReply>;
  private readonly errors: Counter;
  private failing = false;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    metrics: MetricsRegistry,
  ) {
    this.throttle = defineScript<ThrottleReply>(redis, 'tidegateThrottle', 'throttle-1.lua');
    this.errors =
      (metrics.getSingleMetric(THROTTLE_ERRORS_METRIC) as Counter | undefined) ??
      new Counter({
        name: THROTTLE_ERRORS_METRIC,
        help: 'Throttle checks that failed (Redis unreachable or erroring) and let the request through',
        registers: [metrics],
      });
  }

  /**
   * @param key the guard's key for this client (tracker)
   * @param ttl window length in ms
   * @param limit requests allowed per window
   * @param blockDuration ms a client stays refused after exceeding the limit (0: until the window ends)
   * @param throttlerName names the counter, so several throttlers can count the same client
   * @returns counts in requests; `timeToExpire` and `timeToBlockExpire` in whole seconds, like the throttler's own
   *   storage (`timeToBlockExpire` is 0 unless blocked)
   */
  increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<GatewayThrottlerRecord> {
    return this.count(this.keys.throttle(throttlerName, clientKeyFor(key)), ttl, limit, blockDuration);
  }

  /**
   * The client's counter in a room: requests to a room (its protected paths, its status and leave routes) count there,
   * in the room's Cluster slot, so the admission scripts can count them in the same round trip (_client-window.lua).
   */
  roomClientKey(roomId: string, tracker: string): string {
    let room = this.roomKeys.get(roomId);
    if (room === undefined) {
      if (this.roomKeys.size >= MAX_CACHED_ROOMS) this.roomKeys.clear();
      room = this.keys.room(roomId);
      this.roomKeys.set(roomId, room);
    }
    return room.client(clientKeyFor(tracker));
  }

  /** A room's key names, built once per room (every gated request asks for its client key: issue #12). */
  private readonly roomKeys = new Map<string, ReturnType<RedisKeys['room']>>();

  /** Counts a request of a client in its room's window (a Nest route of a room that runs no admission script). */
  incrementInRoom(roomId: string, tracker: string, ttl: number, limit: number, blockDuration: number): Promise<GatewayThrottlerRecord> {
    return this.count(this.roomClientKey(roomId, tracker), ttl, limit, blockDuration);
  }

  private async count(redisKey: string, ttl: number, limit: number, blockDuration: number): Promise<GatewayThrottlerRecord> {
    try {
      const [hits, ttlMs, blocked, blockTtlMs] = await this.throttle(
        [redisKey],
        [Math.max(1, Math.ceil(ttl)), Math.max(0, Math.floor(limit)), Math.max(0, Math.ceil(blockDuration))],
      );
      if (this.failing) {
        this.failing = false;
        this.logger.log('throttle checks work again');
      }
      const isBlocked = blocked === 1;
      return { totalHits: hits, timeToExpire: toSeconds(ttlMs), isBlocked, timeToBlockExpire: isBlocked ? toSeconds(blockTtlMs) : 0 };
    } catch (err) {
      this.errors.inc();
      if (!this.failing) {
        this.failing = true;
        this.logger.warn(`throttle check failed, letting requests through: ${err instanceof Error ? err.message : String(err)}`);
      }
      return { totalHits: 0, timeToExpire: toSeconds(ttl), isBlocked: false, timeToBlockExpire: 0, failedOpen: true };
    }
  }
}
