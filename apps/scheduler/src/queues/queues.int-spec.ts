import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName, sendQueueNames, type JobPayload } from '@tidegate/contracts';
import { partitionTag } from '@tidegate/redis';
import { DispatchQueues } from './dispatch-queues';
import { generateApiKey } from '@tidegate/auth';
import { ApiKeyRepository } from '@tidegate/database';
import { startScheduler, type RunningApp } from '../../../../test/support/apps';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { countByPattern, createTestRedis, type TestRedis } from '../../../../test/support/redis';

describe('scheduler queues (BullMQ on real Redis)', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let viewerKey: string;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    // The API role: the queues are registered, no worker takes the jobs this test adds.
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    const key = generateApiKey();
    await scheduler.app.get(ApiKeyRepository).create({ name: 'viewer', prefix: key.prefix, hash: key.hash, role: 'viewer' });
    viewerKey = key.key;
  });

  afterAll(async () => {
    await scheduler?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  it('registers every queue of the contracts under the hash-tagged prefix', async () => {
    const queue = scheduler.app.get<Queue>(getQueueToken(QueueName.Send), { strict: false });
    await queue.add(
      'send-batch',
      { campaignId: 'c', wave: 0, batch: 0, deviceIds: ['1'], attempt: 0, platforms: { fcm: 1, apns: 0, webpush: 0 } },
      { jobId: 'c:0:0' },
    );
    expect(await countByPattern(redis.client, `${redis.prefix}:{bull}:send:*`)).toBeGreaterThan(0);
    expect(await countByPattern(redis.client, `bull:send:*`)).toBe(0);
  });

  it('puts a batch in its partition’s send queue, under that partition’s hash tag', async () => {
    const queues = scheduler.app.get(DispatchQueues);
    const batch = (index: number): JobPayload<'send-batch'> => ({
      campaignId: 'p',
      wave: 1,
      batch: index + 1,
      deviceIds: [String(16 + index)],
      attempt: 0,
      platforms: { fcm: 1, apns: 0, webpush: 0 },
      partition: { index, of: 12 },
    });
    await queues.addBatches(
      [0, 5].map((index) => ({ name: 'send-batch' as const, data: batch(index), opts: { jobId: `p.w1.b${index + 1}` } })),
    );
    await queues.add(QueueName.Send, 'send-batch', batch(3), { jobId: 'p.w1.b4.r1' });
    for (const q of [0, 3, 5]) {
      expect(await countByPattern(redis.client, `${redis.prefix}:{${partitionTag(q, 12)}}:send-${q}:*`)).toBeGreaterThan(0);
    }
    expect(await queues.hasJob(QueueName.Send, 'p.w1.b6')).toBe(true);
    expect(await queues.hasJob(QueueName.Send, 'p.w1.b2')).toBe(false);
    expect([...(await queues.campaignsWithJobs())]).toContain('p');
  });

  it('reports job counts per queue to a viewer', async () => {
    const res = await fetch(`${scheduler.url}/admin/queues`, { headers: { 'x-api-key': viewerKey } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, Record<string, number>>;
    // Every send partition on its own (DISPATCH_PARTITIONS: 12 by default), and the queue from before partitions.
    expect(Object.keys(body).sort()).toEqual(['plan', 'send', 'stats', ...sendQueueNames(12)].sort());
    expect(body.send?.waiting).toBe(1);
    expect([body['send-0']?.waiting, body['send-3']?.waiting, body['send-5']?.waiting, body['send-1']?.waiting]).toEqual([1, 1, 1, 0]);
    expect(body.plan?.waiting).toBe(0);
  });

  it('exports the same counts to Prometheus', async () => {
    const text = await (await fetch(`${scheduler.url}/metrics`)).text();
    expect(text).toMatch(/tidegate_queue_jobs\{queue="send",state="waiting",app="scheduler"\} 1/);
    expect(text).toMatch(/tidegate_queue_jobs\{queue="send-5",state="waiting",app="scheduler"\} 1/);
  });
});
