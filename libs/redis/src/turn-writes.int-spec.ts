/** One socket write per event-loop turn for an app's Redis commands, on real Redis (standalone, or Cluster). */
import type { Socket } from 'node:net';
import { Cluster, type Redis } from 'ioredis';
import { redisConnection } from '../../../test/support/env';
import { closeRedisClient, createRedisClient, waitUntilReady, type RedisClient } from './connection';
import { atEndOfTurn, batchRedisWritesPerTurn } from './turn-writes';

const nodesOf = (client: RedisClient): Redis[] => (client instanceof Cluster ? client.nodes('all') : [client]);

/** Counts the socket writes (one `_write` or `_writev` each: one syscall) of every node connection. */
function countWrites(client: RedisClient): { writes: () => number } {
  let writes = 0;
  for (const node of nodesOf(client)) {
    const stream = (node as unknown as { stream: Socket & { _write: unknown; _writev: unknown } }).stream;
    for (const method of ['_write', '_writev'] as const) {
      const original = stream[method] as (...a: unknown[]) => unknown;
      stream[method] = function (this: Socket, ...a: unknown[]) {
        writes++;
        return original.apply(this, a);
      };
    }
  }
  return { writes: () => writes };
}

describe('batchRedisWritesPerTurn', () => {
  let client: RedisClient;
  const tag = `{turn-writes-${process.pid}-${Date.now()}}`;

  beforeAll(async () => {
    client = createRedisClient(redisConnection(), { name: 'turn-writes-test' });
    await waitUntilReady(client, 10_000);
    if (client instanceof Cluster) await Promise.all(client.nodes('all').map((n) => n.ping()));
    batchRedisWritesPerTurn(client);
  });
  afterAll(async () => {
    await client.del(`${tag}:n`, `${tag}:s`);
    await closeRedisClient(client);
  });

  it('sends the commands of one turn in one write, each with its own reply, in order', async () => {
    await client.ping(); // the connection (and, on a Cluster, the slot's node) is known
    const counter = countWrites(client);
    const replies = Promise.all(Array.from({ length: 20 }, () => client.incr(`${tag}:n`)));
    await expect(replies).resolves.toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(counter.writes()).toBe(1);
  });

  it('fails only the command that failed', async () => {
    const results = await Promise.allSettled([
      client.set(`${tag}:s`, 'value'),
      client.eval("return redis.error_reply('ERR only this one')", 1, `${tag}:s`),
      client.get(`${tag}:s`),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'ERR only this one' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'value' });
  });

  it('writes the commands of later turns in writes of their own', async () => {
    await client.ping();
    const counter = countWrites(client);
    await client.incr(`${tag}:n`);
    await new Promise((resolve) => setImmediate(resolve));
    await client.incr(`${tag}:n`);
    expect(counter.writes()).toBe(2);
  });

  it("sends what runs at the end of the turn (the admission store's arrival batches) in the turn's one write", async () => {
    await client.ping();
    const counter = countWrites(client);
    const first = client.incr(`${tag}:n`);
    const late = new Promise<number>((resolve, reject) => atEndOfTurn(() => void client.incr(`${tag}:n`).then(resolve, reject)));
    const [a, b] = await Promise.all([first, late]);
    expect(b).toBe(a + 1);
    expect(counter.writes()).toBe(1);
  });

  it('runs what is queued for the end of the turn while the uncorks run', async () => {
    await client.ping();
    // Every node's socket (on a Cluster the key's node is one of them): its uncork queues one more end-of-turn callback.
    const queued: { late?: Promise<void> } = {};
    const restore: Array<() => void> = [];
    for (const node of nodesOf(client)) {
      const stream = (node as unknown as { stream?: Socket }).stream;
      if (!stream) continue;
      const uncork = stream.uncork;
      restore.push(() => (stream.uncork = uncork));
      stream.uncork = function (this: Socket) {
        uncork.call(this);
        queued.late ??= new Promise<void>((resolve) => atEndOfTurn(resolve));
      };
    }
    try {
      await client.incr(`${tag}:n`); // corks its node's socket, uncorked at the end of the turn
      expect(queued.late).toBeDefined();
      await queued.late; // runs, in this turn or the next: not dropped
    } finally {
      for (const undo of restore) undo();
    }
  });
});
