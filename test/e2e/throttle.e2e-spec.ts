/**
 * Per-client throttling over HTTP: two gateway instances in this process share one Redis key prefix, so a client's
 * requests count once whichever instance answers. A minimal module (the throttle, Redis, metrics and a test
 * controller) stands in for the GatewayModule, booted as the gateway is: Fastify through createHttpApp.
 */
import { Controller, Get, Global, Module, type DynamicModule } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { PrismaService } from '@tidegate/database';
import { HealthModule, loggingModule, MetricsModule } from '@tidegate/observability';
import { createHttpApp } from '@tidegate/platform';
import { REDIS, RedisModule, waitUntilReady, type RedisClient, type RedisConnectionOptions } from '@tidegate/redis';
import { GATEWAY_OPENAPI } from '../../apps/gateway/src/openapi';
import { ThrottleModule } from '../../apps/gateway/src/throttle/throttle.module';
import { redisConnection } from '../support/env';
import { createTestRedis, type TestRedis } from '../support/redis';

const LIMIT = 5;
const WINDOW_SECONDS = 60;

@Controller()
class TestController {
  @Get('hello')
  hello() {
    return { hello: 'world' };
  }

  @Get('open')
  @SkipThrottle()
  open() {
    return { open: true };
  }
}

/** HealthController needs a PrismaService; /health/live never uses it, so a stand-in spares a database. */
@Global()
@Module({ providers: [{ provide: PrismaService, useValue: {} }], exports: [PrismaService] })
class NoDatabaseModule {}

@Module({})
class ThrottledTestModule {
  static forRoot(connection: RedisConnectionOptions, keyPrefix: string): DynamicModule {
    return {
      module: ThrottledTestModule,
      imports: [
        loggingModule({ app: 'gateway', level: 'silent', requests: false }),
        RedisModule.forRoot({ ...connection, keyPrefix, name: 'gateway' }),
        MetricsModule.forRoot('gateway'),
        NoDatabaseModule,
        HealthModule.forRoot(),
        ThrottleModule.forRoot({ limit: LIMIT, windowSeconds: WINDOW_SECONDS, blockSeconds: 0 }),
      ],
      controllers: [TestController],
    };
  }
}

interface Instance {
  url: string;
  close(): Promise<void>;
}

/** Boots an instance; unless told not to, waits for its Redis client (as readiness gates traffic in production). */
async function start(connection: RedisConnectionOptions, keyPrefix: string, waitForRedis = true): Promise<Instance> {
  const app = await createHttpApp(ThrottledTestModule.forRoot(connection, keyPrefix), { openApi: GATEWAY_OPENAPI, bootLogs: false });
  if (waitForRedis) await waitUntilReady(app.get<RedisClient>(REDIS), 10_000);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (!address || typeof address === 'string') throw new Error('app is not listening on a TCP port');
  return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

const get = (base: Instance, path: string, deviceId?: string, accept?: string) =>
  fetch(`${base.url}${path}`, { headers: { ...(deviceId ? { 'x-device-id': deviceId } : {}), ...(accept ? { accept } : {}) } });

const header = (res: Response, name: string) => {
  const value = res.headers.get(name);
  return value === null ? null : Number(value);
};

describe('gateway throttling', () => {
  let redis: TestRedis;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    redis = await createTestRedis();
    [a, b] = await Promise.all([start(redisConnection(), redis.prefix), start(redisConnection(), redis.prefix)]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.cleanup();
  });

  /** LIMIT requests alternating between the instances: all pass, RateLimit-Remaining counting down across both. */
  async function useUpQuota(deviceId?: string): Promise<void> {
    for (let i = 0; i < LIMIT; i++) {
      const res = await get(i % 2 === 0 ? a : b, '/hello', deviceId);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ hello: 'world' });
      expect(header(res, 'ratelimit-limit')).toBe(LIMIT);
      expect(header(res, 'ratelimit-remaining')).toBe(LIMIT - 1 - i);
      expect(header(res, 'ratelimit-reset')).toBeGreaterThanOrEqual(1);
      expect(header(res, 'ratelimit-reset')).toBeLessThanOrEqual(WINDOW_SECONDS);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  }

  async function expectRefused(res: Response): Promise<void> {
    expect(res.status).toBe(429);
    expect(header(res, 'ratelimit-limit')).toBe(LIMIT);
    expect(header(res, 'ratelimit-remaining')).toBe(0);
    const retryAfter = header(res, 'retry-after');
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(header(res, 'ratelimit-reset')).toBe(retryAfter);
    expect(await res.json()).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: `Too many requests: retry in ${retryAfter} s`,
    });
  }

  it('refuses the request after the limit, counted across both instances, by client IP', async () => {
    await useUpQuota();
    await expectRefused(await get(b, '/hello'));
    await expectRefused(await get(a, '/hello'));
  });

  it('answers a browser over its limit with a small HTML page carrying the same headers', async () => {
    // The IP of this test client is over its limit since the first test.
    const res = await get(a, '/hello', undefined, 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8');
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(header(res, 'ratelimit-limit')).toBe(LIMIT);
    expect(header(res, 'ratelimit-remaining')).toBe(0);
    const retryAfter = header(res, 'retry-after');
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(header(res, 'ratelimit-reset')).toBe(retryAfter);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('Too many requests');
    expect(html).toContain(`${retryAfter} second`);
  });

  it('answers a malformed X-Device-Id with 400 naming the header and its format, instead of counting it by IP', async () => {
    for (const bad of ['bad id!', 'short', 'x'.repeat(129)]) {
      const res = await get(b, '/hello', bad);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { message: string };
      expect(body.message).toContain('X-Device-Id');
      expect(body.message).toContain('8 to 128');
    }
  });

  it('counts each valid X-Device-Id on its own', async () => {
    await useUpQuota('device-aaaaaaaa');
    await expectRefused(await get(a, '/hello', 'device-aaaaaaaa'));
    const other = await get(b, '/hello', 'device-bbbbbbbb');
    expect(other.status).toBe(200);
    expect(header(other, 'ratelimit-remaining')).toBe(LIMIT - 1);
  });

  it('never throttles @SkipThrottle routes, health, metrics or the API docs, even for a client over its limit', async () => {
    // The IP of this test client is over its limit since the first test.
    expect((await get(a, '/hello')).status).toBe(429);
    for (let i = 0; i < LIMIT * 2; i++) {
      const open = await get(i % 2 === 0 ? a : b, '/open');
      expect(open.status).toBe(200);
      expect(open.headers.get('ratelimit-limit')).toBeNull();
    }
    for (const path of ['/health/live', '/metrics', '/docs/json']) {
      for (const instance of [a, b]) expect((await get(instance, path)).status).toBe(200);
    }
  });

  describe('with Redis unreachable', () => {
    let down: Instance;

    beforeAll(async () => {
      down = await start({ url: 'redis://127.0.0.1:1' }, redis.prefix, false);
    });
    afterAll(() => down?.close());

    it('lets requests through (fails open) and counts the failures in /metrics', async () => {
      const requests = LIMIT + 3;
      for (let i = 0; i < requests; i++) {
        const res = await get(down, '/hello', 'device-cccccccc');
        expect(res.status).toBe(200);
        expect(res.headers.get('ratelimit-remaining')).toBeNull(); // the count is unknown
      }
      const metrics = await (await get(down, '/metrics')).text();
      const line = metrics.split('\n').find((l) => l.startsWith('tidegate_throttle_errors_total{'));
      expect(line).toBe(`tidegate_throttle_errors_total{app="gateway"} ${requests}`);
    });
  });
});
