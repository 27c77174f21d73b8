/**
 * The queue dashboard (Bull Board at /admin/board) over HTTP against a booted scheduler: sre keys only, by HTTP Basic
 * (a browser) or Bearer (curl), and it shows and acts on the real BullMQ queues in Redis.
 */
import { Queue } from 'bullmq';
import { generateApiKey } from '@tidegate/auth';
import { QUEUE_NAMES, QueueName, sendQueueNames, type JobPayload, type Role } from '@tidegate/contracts';
import { adminCall, adminFetch } from '../support/admin-api';
import { startScheduler, type RunningApp } from '../support/apps';
import { createRoleKeys } from '../support/keys';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestRedis, type TestRedis } from '../support/redis';

interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  isPaused: boolean;
  jobs: Array<{ id: string; name: string; data: unknown }>;
}

const basic = (key: string, user = 'sre') => `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;

describe('queue dashboard (Bull Board) for the sre role', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let send: Queue;
  const keys: Partial<Record<Role, string>> = {};
  const payload: JobPayload<'send-batch'> = {
    campaignId: 'c-board',
    wave: 0,
    batch: 3,
    deviceIds: ['d1', 'd2'],
    attempt: 0,
    platforms: { fcm: 2, apns: 0, webpush: 0 },
  };

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    // The api role: the process that mounts the board, with no worker to take the job this test adds.
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    Object.assign(keys, await createRoleKeys(scheduler.app));
    send = new Queue(QueueName.Send, { connection: redis.client, prefix: redis.keys.bullPrefix });
    await send.add('send-batch', payload, { jobId: 'c-board:0:3' });
  });

  afterAll(async () => {
    await send?.close();
    await scheduler?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  /** The board answers HTML, assets and Basic challenges: the raw answer, with any `Authorization`. */
  const call = (path: string, init: { method?: string; auth?: string; headers?: Record<string, string> } = {}) =>
    adminFetch(scheduler.url, init.method ?? 'GET', path, {
      ...(init.auth !== undefined && { authorization: init.auth }),
      ...(init.headers && { headers: init.headers }),
    });

  it('asks a browser for credentials (401, Basic challenge) without a valid key, on every part of the board', async () => {
    const attempts = [undefined, basic('nonsense'), basic(generateApiKey().key), `Bearer ${generateApiKey().key}`, 'Basic !!!'];
    for (const auth of attempts) {
      for (const path of ['/admin/board', '/admin/board/api/queues', '/admin/board/static/images/logo.svg']) {
        const res = await call(path, { auth });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="Tidegate queues"');
        const body = (await res.json()) as { statusCode: number; error: string; message: string };
        expect(body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
        expect(body.message).toMatch(/API key/);
      }
    }
    const change = await call('/admin/board/api/queues/send/pause', { method: 'PUT' });
    expect(change.status).toBe(401);
    expect(await send.isPaused()).toBe(false);
  });

  it('answers 403 to viewer and marketer keys, by Basic or Bearer', async () => {
    for (const role of ['viewer', 'marketer'] as const) {
      for (const auth of [basic(keys[role]!), `Bearer ${keys[role]!}`]) {
        const res = await call('/admin/board/api/queues', { auth });
        expect(res.status).toBe(403);
        expect(res.headers.get('www-authenticate')).toBeNull();
        expect(await res.json()).toMatchObject({
          statusCode: 403,
          error: 'Forbidden',
          message: `this route needs the sre role; the key has ${role}`,
        });
      }
    }
  });

  it('serves the board page and its assets to an sre key given as the Basic password', async () => {
    const page = await call('/admin/board', { auth: basic(keys.sre!, 'anyone') });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toContain('<base href="/admin/board/"');
    expect(html).toContain('<title>Tidegate queues</title>');
    const script = /src="(static\/js\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await call(`/admin/board/${script}`, { auth: basic(keys.sre!) });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect((await call('/admin/board/queue/send', { auth: basic(keys.sre!) })).status).toBe(200); // the UI's deep links
  });

  it('lists the real queues and the job added to send, by Basic and by Bearer', async () => {
    for (const auth of [basic(keys.sre!), `Bearer ${keys.sre!}`]) {
      const res = await call('/admin/board/api/queues?activeQueue=send&status=waiting&page=1&jobsPerPage=10', { auth });
      expect(res.status).toBe(200);
      const { queues } = (await res.json()) as { queues: BoardQueue[] };
      // The contracts' queues and the partitioned send queues (DISPATCH_PARTITIONS: 12 by default).
      expect(queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES, ...sendQueueNames(12)].sort());
      expect(queues.find((q) => q.name === 'send-11')?.counts.waiting).toBe(0);
      const sendQueue = queues.find((q) => q.name === 'send');
      expect(sendQueue?.counts.waiting).toBe(1);
      expect(sendQueue?.jobs).toEqual([expect.objectContaining({ id: 'c-board:0:3', name: 'send-batch', data: payload })]);
      expect(queues.find((q) => q.name === 'plan')?.counts.waiting).toBe(0);
    }
    const job = await call('/admin/board/api/queues/send/c-board%3A0%3A3', { auth: `Bearer ${keys.sre!}` });
    expect(job.status).toBe(200);
    expect(await job.json()).toMatchObject({ job: { id: 'c-board:0:3', data: payload } });
  });

  it('lets an sre act on a queue from the board, but not from another site', async () => {
    const crossSite = await call('/admin/board/api/queues/send/pause', {
      method: 'PUT',
      auth: basic(keys.sre!),
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    expect(await send.isPaused()).toBe(false);

    const sameOrigin = { auth: basic(keys.sre!), headers: { 'sec-fetch-site': 'same-origin' } };
    expect((await call('/admin/board/api/queues/send/pause', { method: 'PUT', ...sameOrigin })).status).toBe(200);
    expect(await send.isPaused()).toBe(true);
    expect((await call('/admin/board/api/queues/send/resume', { method: 'PUT', auth: `Bearer ${keys.sre!}` })).status).toBe(200);
    expect(await send.isPaused()).toBe(false);
  });

  it('stays out of the OpenAPI document, and keeps the JSON counts at /admin/queues', async () => {
    const doc = (await (await call('/docs/json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin/board'))).toEqual([]);
    expect(Object.keys(doc.paths)).toContain('/admin/queues');
    const counts = await adminCall(scheduler.url, keys.viewer!, 'GET', '/admin/queues');
    expect((counts.body as Record<string, Record<string, number>>).send?.waiting).toBe(1);
  });

  it('is not mounted in a worker-only process', async () => {
    const worker = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'worker');
    try {
      expect((await adminFetch(worker.url, 'GET', '/admin/board', { authorization: basic(keys.sre!) })).status).toBe(404);
    } finally {
      await worker.close();
    }
  });
});
