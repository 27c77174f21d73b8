import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '@tidegate/contracts';
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

  it('reports job counts per queue to a viewer', async () => {
    const res = await fetch(`${scheduler.url}/admin/queues`, { headers: { 'x-api-key': viewerKey } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, Record<string, number>>;
    expect(Object.keys(body).sort()).toEqual(['plan', 'send', 'stats']);
    expect(body.send?.waiting).toBe(1);
    expect(body.plan?.waiting).toBe(0);
  });

  it('exports the same counts to Prometheus', async () => {
    const text = await (await fetch(`${scheduler.url}/metrics`)).text();
    expect(text).toMatch(/tidegate_queue_jobs\{queue="send",state="waiting",app="scheduler"\} 1/);
  });
});
