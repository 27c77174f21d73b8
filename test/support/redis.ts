import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { closeRedisClient, createRedisClient, RedisKeys, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { redisConnection } from './env';

export interface TestRedis {
  client: RedisClient;
  keys: RedisKeys;
  prefix: string;
  /** Deletes every key under this file's prefix and closes the client. */
  cleanup(): Promise<void>;
}

/** A unique key prefix per test file (isolation), with a client on the test Redis (standalone or Cluster). */
export async function createTestRedis(): Promise<TestRedis> {
  const prefix = `test-${randomBytes(5).toString('hex')}`;
  const client = createRedisClient(redisConnection(), { name: 'test', forBullmq: true });
  await waitUntilReady(client, 10_000);
  const keys = new RedisKeys(prefix);
  return {
    client,
    keys,
    prefix,
    cleanup: async () => {
      await deleteByPattern(client, keys.everything);
      await closeRedisClient(client);
    },
  };
}

export async function deleteByPattern(client: RedisClient, pattern: string): Promise<number> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      // One key per DEL: in a Cluster the keys of one batch may live in different slots.
      for (const key of found) deleted += await node.del(key);
    } while (cursor !== '0');
  }
  return deleted;
}

export async function countByPattern(client: RedisClient, pattern: string): Promise<number> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  let count = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      count += found.length;
    } while (cursor !== '0');
  }
  return count;
}
