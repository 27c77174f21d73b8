/** RedisThrottlerStorage on real Redis (standalone, or Cluster under `npm run test:cluster`). */
import { MetricsRegistry } from '@tidegate/observability';
import { createRedisClient, RedisKeys, type RedisClient } from '@tidegate/redis';
import { countByPattern, createTestRedis, type TestRedis } from '../../../../test/support/redis';
import { clientKeyFor, RedisThrottlerStorage, THROTTLE_ERRORS_METRIC } from './redis-throttler.storage';

async function errorCount(metrics: MetricsRegistry): Promise<number> {
  const metric = await metrics.getSingleMetric(THROTTLE_ERRORS_METRIC)?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('RedisThrottlerStorage', () => {
  let redis: TestRedis;
  let storage: RedisThrottlerStorage;

  beforeAll(async () => {
    redis = await createTestRedis();
    storage = new RedisThrottlerStorage(redis.client, redis.keys, new MetricsRegistry());
  });
  afterAll(() => redis.cleanup());

  it('returns counts and whole seconds, as the throttler expects', async () => {
    const first = await storage.increment('ip:203.0.113.7', 10_000, 2, 0, 'default');
    expect(first).toEqual({ totalHits: 1, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 });
    await storage.increment('ip:203.0.113.7', 10_000, 2, 0, 'default');
    const refused = await storage.increment('ip:203.0.113.7', 10_000, 2, 0, 'default');
    expect(refused).toMatchObject({ totalHits: 3, isBlocked: true });
    expect(refused.timeToBlockExpire).toBeGreaterThanOrEqual(1);
    expect(refused.timeToBlockExpire).toBeLessThanOrEqual(10);
    await expect(redis.client.exists(redis.keys.throttle('default', 'ip:203.0.113.7'))).resolves.toBe(1);
  });

  it('blocks for blockDuration after the limit is exceeded', async () => {
    await storage.increment('dev:blocked-device', 1000, 1, 120_000, 'default');
    const refused = await storage.increment('dev:blocked-device', 1000, 1, 120_000, 'default');
    expect(refused.isBlocked).toBe(true);
    expect(refused.timeToBlockExpire).toBeGreaterThan(100);
    expect(refused.timeToBlockExpire).toBeLessThanOrEqual(120);
  });

  it('hashes keys that RedisKeys would refuse (IPv6 subnets, long ids) and keeps one key per client', async () => {
    const ipv6 = 'ip:2001:db8:1:2::/64';
    const long = `dev:${'a'.repeat(128)}`;
    expect(clientKeyFor(ipv6)).toMatch(/^sha1:[0-9a-f]{40}$/);
    expect(clientKeyFor(long)).toMatch(/^sha1:[0-9a-f]{40}$/);
    expect(clientKeyFor('ip:198.51.100.1')).toBe('ip:198.51.100.1');
    for (const key of [ipv6, long]) {
      expect((await storage.increment(key, 60_000, 1, 0, 'hashed')).isBlocked).toBe(false);
      expect((await storage.increment(key, 60_000, 1, 0, 'hashed')).isBlocked).toBe(true);
    }
    await expect(countByPattern(redis.client, `${redis.prefix}:throttle:hashed:*`)).resolves.toBe(2);
  });

  it('keeps throttlers apart for the same client', async () => {
    await storage.increment('ip:198.51.100.2', 60_000, 1, 0, 'one');
    expect((await storage.increment('ip:198.51.100.2', 60_000, 1, 0, 'one')).isBlocked).toBe(true);
    expect((await storage.increment('ip:198.51.100.2', 60_000, 1, 0, 'two')).isBlocked).toBe(false);
  });

  it('fails open when Redis is unreachable, counting each failure', async () => {
    const down: RedisClient = createRedisClient({ url: 'redis://127.0.0.1:1' }, { name: 'test-down', onEvent: () => undefined });
    const metrics = new MetricsRegistry();
    try {
      const failing = new RedisThrottlerStorage(down, new RedisKeys(redis.prefix), metrics);
      for (let i = 0; i < 3; i++) {
        await expect(failing.increment('ip:192.0.2.1', 10_000, 1, 0, 'default')).resolves.toEqual({
          totalHits: 0,
          timeToExpire: 10,
          isBlocked: false,
          timeToBlockExpire: 0,
          failedOpen: true,
        });
      }
      await expect(errorCount(metrics)).resolves.toBe(3);
      // A second storage on the same registry reuses the counter instead of failing to register it.
      expect(() => new RedisThrottlerStorage(down, new RedisKeys(redis.prefix), metrics)).not.toThrow();
    } finally {
      down.disconnect();
    }
  });
});
