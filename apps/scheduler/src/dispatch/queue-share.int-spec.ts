import { EventEmitter, once } from 'node:events';
import { Queue, Worker } from 'bullmq';
import { createTestRedis, type TestRedis } from '../../../../test/support/redis';
import { QueueShare, SendSlots } from './send-slots';

/** A send queue and its BullMQ worker whose jobs run in `share`'s slots, each until the test lets it go. */
function gatedQueue(redis: TestRedis, name: string, share: QueueShare) {
  const queue = new Queue(name, { connection: redis.client, prefix: `${redis.prefix}:{bull}` });
  const events = new EventEmitter();
  const held: Array<() => void> = [];
  const seen = { running: 0, maxRunning: 0, maxConcurrency: 0, done: 0 };
  const worker: Worker = new Worker(
    name,
    () =>
      share.run(worker, async () => {
        seen.running++;
        seen.maxRunning = Math.max(seen.maxRunning, seen.running);
        seen.maxConcurrency = Math.max(seen.maxConcurrency, worker.concurrency);
        await new Promise<void>((resolve) => {
          held.push(resolve);
          events.emit('start');
        });
        seen.running--;
        seen.done++;
      }),
    { connection: redis.client, prefix: `${redis.prefix}:{bull}`, concurrency: share.share, autorun: false },
  );
  const releaseOldest = () => held.shift()?.();
  return { queue, worker, events, held, seen, releaseOldest };
}

describe('QueueShare (BullMQ on real Redis): partitioned send queues sharing the slots', () => {
  let redis: TestRedis;
  const opened: Array<{ queue: Queue; worker: Worker }> = [];

  beforeAll(async () => {
    redis = await createTestRedis();
  });

  afterEach(async () => {
    for (const { queue, worker } of opened.splice(0)) {
      await worker.close(true);
      await queue.close();
    }
  });

  afterAll(async () => {
    await redis.cleanup();
  });

  it('a queue alone with work (a small campaign) grows from its share to fill every slot', async () => {
    const slots = new SendSlots(4);
    const share = new QueueShare(slots, 12);
    expect(share.share).toBe(2);
    const q = gatedQueue(redis, 'send-alone', share);
    opened.push(q);
    await q.queue.addBulk(Array.from({ length: 16 }, (_, i) => ({ name: 'send-batch', data: { i } })));
    // Every job ends as soon as it starts: each ends with slots free and nobody waiting, so the worker takes more.
    q.events.on('start', () => q.releaseOldest());
    const completed = new Promise<void>((resolve) => q.worker.on('completed', () => q.seen.done === 16 && resolve()));
    void q.worker.run();
    await completed;
    expect(q.seen.maxConcurrency).toBe(4);
    expect(q.worker.concurrency).toBe(4);
    expect(slots.busy).toBe(0);
  });

  it('queues that all have work keep to their shares: jobs wait for a slot, and no worker takes more', async () => {
    const slots = new SendSlots(2);
    const share = new QueueShare(slots, 2);
    const a = gatedQueue(redis, 'send-a', share);
    const b = gatedQueue(redis, 'send-b', share);
    opened.push(a, b);
    await Promise.all([a, b].map((q) => q.queue.addBulk(Array.from({ length: 8 }, (_, i) => ({ name: 'send-batch', data: { i } })))));
    void a.worker.run();
    void b.worker.run();
    // Two jobs run (one slot each... or both of one queue); the others taken wait in the slots.
    for (let released = 0; a.seen.done + b.seen.done < 16 && released < 100; released++) {
      while (a.held.length + b.held.length === 0) await Promise.race([once(a.events, 'start'), once(b.events, 'start')]);
      expect(slots.busy).toBeLessThanOrEqual(2);
      expect((await a.queue.getActiveCount()) + (await b.queue.getActiveCount())).toBeLessThanOrEqual(2 * share.share);
      (a.held.length > 0 ? a : b).releaseOldest();
      // Let the released job end and its slot pass to a waiting job before the next look.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(a.seen.done + b.seen.done).toBe(16);
    expect(a.seen.maxConcurrency).toBe(share.share);
    expect(b.seen.maxConcurrency).toBe(share.share);
  });
});
