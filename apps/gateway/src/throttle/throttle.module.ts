/**
 * Per-client throttling for the gateway: @nestjs/throttler with a Redis storage shared by every instance, one
 * global guard (no interceptor: the guard sets the headers), one Lua call per request.
 *
 * Needs the app's global RedisModule (REDIS, RedisKeys) and MetricsModule (MetricsRegistry). Routes opt out with
 * `@SkipThrottle()`; health and metrics (libs/observability) are opted out here, since that lib does not depend on
 * the throttler. OpenAPI (/docs) is served by Fastify directly and never reaches the guard.
 */
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { getStorageToken, SkipThrottle, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { HealthController, MetricsController, MetricsRegistry } from '@tidegate/observability';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import { ClientThrottle, GATEWAY_THROTTLER } from './client-throttle';
import { GatewayThrottlerGuard } from './gateway-throttler.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { TooManyRequestsFilter } from './too-many-requests.filter';

export interface ThrottleOptions {
  /** Requests a client may make per window (THROTTLE_LIMIT). */
  limit: number;
  /** Window length in seconds (THROTTLE_WINDOW_SECONDS). */
  windowSeconds: number;
  /** After exceeding the limit, the client is refused for this many seconds or until the window ends, whichever is
   *  later; 0 = until the window ends (THROTTLE_BLOCK_SECONDS). */
  blockSeconds: number;
}

export { GATEWAY_THROTTLER };

function checkOptions({ limit, windowSeconds, blockSeconds }: ThrottleOptions): void {
  const bad: string[] = [];
  if (!Number.isInteger(limit) || limit < 1) bad.push(`limit must be an integer >= 1 (got ${limit})`);
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0) bad.push(`windowSeconds must be > 0 (got ${windowSeconds})`);
  if (!Number.isFinite(blockSeconds) || blockSeconds < 0) bad.push(`blockSeconds must be >= 0 (got ${blockSeconds})`);
  if (bad.length > 0) throw new Error(`ThrottleModule: ${bad.join('; ')}`);
}

// Health probes and Prometheus scrapes must never be refused.
SkipThrottle()(HealthController);
SkipThrottle()(MetricsController);

@Module({})
export class ThrottleModule {
  static forRoot(options: ThrottleOptions): DynamicModule {
    checkOptions(options);
    return {
      module: ThrottleModule,
      imports: [
        ThrottlerModule.forRootAsync({
          inject: [REDIS, RedisKeys, MetricsRegistry],
          useFactory: (redis: RedisClient, keys: RedisKeys, metrics: MetricsRegistry) => ({
            throttlers: [
              {
                name: GATEWAY_THROTTLER,
                limit: options.limit,
                ttl: Math.round(options.windowSeconds * 1000),
                blockDuration: Math.round(options.blockSeconds * 1000),
              },
            ],
            storage: new RedisThrottlerStorage(redis, keys, metrics),
          }),
        }),
      ],
      providers: [
        { provide: APP_GUARD, useClass: GatewayThrottlerGuard },
        { provide: APP_FILTER, useClass: TooManyRequestsFilter },
        {
          provide: ClientThrottle,
          inject: [getStorageToken()],
          useFactory: (storage: ThrottlerStorage) =>
            new ClientThrottle(storage as RedisThrottlerStorage, {
              limit: options.limit,
              ttlMs: Math.round(options.windowSeconds * 1000),
              blockMs: Math.round(options.blockSeconds * 1000),
            }),
        },
      ],
      exports: [ClientThrottle],
      global: true,
    };
  }
}
