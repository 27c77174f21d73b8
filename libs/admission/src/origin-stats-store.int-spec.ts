/**
 * Origin measurements from several gateways add up in Redis (standalone here, a Cluster under `npm run test:cluster`):
 * each gateway writes its seconds, a releaser reads the sum over the window, and seconds older than the window go.
 */
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { closeRedisClient, createRedisClient, RedisKeys, RoomConfigStore, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { judgeOrigin, latencyBucket, percentileMs } from '@tidegate/domain';
import { redisConnection } from '../../../test/support/env';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { AdmissionStore } from './admission-store';
import { emptyOriginSecond, OriginStatsStore, type OriginSecond } from './origin-stats-store';

function second(answers: Array<[latencyMs: number, count: number]>, errors: Partial<OriginSecond['errors']> = {}): OriginSecond {
  const s = emptyOriginSecond();
  for (const [ms, n] of answers) {
    s.latency[latencyBucket(ms)]! += n;
    s.requests += n;
  }
  for (const [kind, n] of Object.entries(errors)) {
    s.errors[kind as keyof OriginSecond['errors']] += n;
    s.requests += n;
  }
  return s;
}

describe('OriginStatsStore (Redis)', () => {
  let redis: TestRedis;
  let otherClient: RedisClient;
  let gatewayA: OriginStatsStore;
  let gatewayB: OriginStatsStore;

  beforeAll(async () => {
    redis = await createTestRedis();
    // The second gateway has its own connection, as a second process would.
    otherClient = createRedisClient(redisConnection(), { name: 'test-b' });
    await waitUntilReady(otherClient, 10_000);
    gatewayA = new OriginStatsStore(redis.client, redis.keys);
    gatewayB = new OriginStatsStore(otherClient, new RedisKeys(redis.prefix));
  });
  afterAll(async () => {
    await closeRedisClient(otherClient);
    await redis.cleanup();
  });

  it("merges two gateways' writes for the same seconds into one window", async () => {
    const t = 1_800_000_000;
    await gatewayA.add('merge', t, second([[20, 30]]));
    await gatewayB.add('merge', t, second([[3000, 10]], { status_5xx: 2 }));
    await gatewayA.add('merge', t + 1, second([[20, 30]], { refused: 1 }));
    await gatewayB.add('merge', t + 1, second([[3000, 10]], { timeout: 3 }));

    const window = await gatewayA.sum('merge', t - 29, t + 1);
    expect(window.requests).toBe(30 + 12 + 31 + 13);
    expect(window.errors).toEqual({ status_5xx: 2, refused: 1, reset: 0, timeout: 3, other: 0 });
    expect(window.latency[latencyBucket(20)]).toBe(60);
    expect(window.latency[latencyBucket(3000)]).toBe(20);
    // One gateway alone looks fine; together p95 is in the slow bucket, so the room is unhealthy by latency.
    expect(percentileMs(window.latency, 0.95)).toBeGreaterThan(2000);
    const judged = judgeOrigin(null, window, { maxP95Ms: 2000, maxErrorRate: 0.2, minRequests: 20 }, t * 1000);
    expect(judged).toMatchObject({ healthy: false, reason: 'latency' });
    // The same window read through the other gateway's connection.
    expect(await gatewayB.sum('merge', t - 29, t + 1)).toEqual(window);
  });

  it('leaves seconds after the window out, and drops seconds before it', async () => {
    const t = 1_800_000_100;
    await gatewayA.add('slide', t - 40, second([[20, 5]]));
    await gatewayB.add('slide', t - 10, second([[20, 7]]));
    await gatewayA.add('slide', t + 5, second([[20, 11]]));
    expect((await gatewayA.sum('slide', t - 29, t)).requests).toBe(7);
    const fields = await redis.client.hkeys(redis.keys.room('slide').origin);
    expect(fields.some((f) => f.startsWith(`${t - 40}:`))).toBe(false);
    expect(fields.some((f) => f.startsWith(`${t + 5}:`))).toBe(true);
  });

  it('keeps the last judgement for the next tick, and nothing for a room never judged', async () => {
    expect(await gatewayA.readHealth('judged')).toBeNull();
    const health = judgeOrigin(
      null,
      { requests: 0, latency: [], errors: emptyOriginSecond().errors },
      { maxP95Ms: 1, maxErrorRate: 0, minRequests: 1 },
      5,
    );
    await gatewayA.writeHealth('judged', health);
    expect(await gatewayB.readHealth('judged')).toEqual(health);
  });

  it('the admission scripts apply the origin factor to the rate, and a deleted room gets no factor', async () => {
    const rooms = new RoomConfigStore(redis.client, redis.keys);
    const admission = new AdmissionStore(redis.client, redis.keys, { graceMs: 60_000 });
    const arrivals = async (id: string, n: number) =>
      (await Promise.all(Array.from({ length: n }, () => admission.arrive(id)))).filter((r) => r.kind === 'admitted').length;

    // 600 a minute: a burst of 100 at full rate; at a tenth of it, 10.
    await rooms.write('slowed', { ...ROOM_DEFAULTS, totalActiveUsers: 10_000, newUsersPerMinute: 600 });
    expect(await rooms.writeOriginFactor('slowed', 0.1)).toBe(true);
    expect(await arrivals('slowed', 50)).toBe(10);
    await rooms.write('closed', { ...ROOM_DEFAULTS, totalActiveUsers: 10_000, newUsersPerMinute: 600 });
    await rooms.writeOriginFactor('closed', 0);
    expect(await arrivals('closed', 5)).toBe(0);
    await rooms.write('full-rate', { ...ROOM_DEFAULTS, totalActiveUsers: 10_000, newUsersPerMinute: 600 });
    await rooms.writeOriginFactor('full-rate', 1);
    expect(await arrivals('full-rate', 50)).toBe(50);

    await rooms.remove('slowed');
    expect(await rooms.writeOriginFactor('slowed', 0.5)).toBe(false);
    expect(await redis.client.exists(redis.keys.room('slowed').config)).toBe(0);
  });
});
