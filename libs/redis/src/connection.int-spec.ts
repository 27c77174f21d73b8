import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { createRedisClient, pingRedis, waitUntilReady } from './connection';

describe('Redis connection factory', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await createTestRedis();
  });
  afterAll(() => redis.cleanup());

  it('connects to the configured Redis (standalone or Cluster) and answers PING', async () => {
    await expect(pingRedis(redis.client, 1000)).resolves.toBeUndefined();
  });

  it('keeps all keys of a room in one slot, so one script can touch them all (Cluster included)', async () => {
    const room = redis.keys.room('slot-check');
    const script = `redis.call('SET', KEYS[1], ARGV[1]); redis.call('INCR', KEYS[2]); return redis.call('GET', KEYS[1])`;
    await expect(redis.client.eval(script, 2, room.config, room.tickets, 'ok')).resolves.toBe('ok');
    await expect(redis.client.get(room.tickets)).resolves.toBe('1');
  });

  it('fails fast instead of queueing commands while Redis is unreachable', async () => {
    const down = createRedisClient({ url: 'redis://127.0.0.1:1' }, { name: 'test-down' });
    try {
      const started = Date.now();
      await expect(pingRedis(down, 500)).rejects.toThrow(/Redis connection is|no answer/);
      await expect(down.get('x')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(waitUntilReady(down, 200)).rejects.toThrow(/not ready after 200 ms/);
    } finally {
      down.disconnect();
    }
  });
});
