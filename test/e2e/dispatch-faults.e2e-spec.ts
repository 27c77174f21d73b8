/**
 * Dispatch under faults: the worker process killed with SIGKILL in the middle of a wave and started again, and a
 * campaign paused in the middle of a wave and resumed. Real worker processes (the built app), the three provider
 * fakes on loopback, real PostgreSQL and Redis.
 */
import { PrismaService } from '@tidegate/database';
import { startScheduler, type RunningApp } from '../support/apps';
import { adminCall } from '../support/admin-api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { waitFor, type Proc } from '../support/processes';
import { deliveriesByDevice, seedDevices, spawnWorker, startPushFakes, type PushFakes, type SeededDevice } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';

const DEVICES = 6000;
const BATCH = 100;
const CONCURRENCY = 4;
/** 500 messages a second: the campaign takes about 12 s, long enough to be interrupted mid-wave. */
const RATE_PER_MINUTE = 30_000;

describe('dispatch under faults', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let fakes: PushFakes;
  let scheduler: RunningApp;
  let prisma: PrismaService;
  let marketer: string;
  const workers: Proc[] = [];

  const startWorker = async () => {
    const worker = await spawnWorker({
      databaseUrl: db.url,
      redisPrefix: redis.prefix,
      fakes,
      extra: { SEND_CONCURRENCY: String(CONCURRENCY), JOB_LOCK_MS: '2000', STATS_FLUSH_MS: '500' },
    });
    workers.push(worker);
    return worker;
  };

  const api = (method: string, path: string, body?: unknown) => adminCall(scheduler.url, marketer, method, path, body);

  /** Creates and starts a campaign to the devices tagged `tag`; returns its id. */
  async function startCampaign(tag: string): Promise<string> {
    const created = await api('POST', '/admin/campaigns', {
      name: `faults ${tag}`,
      message: { title: 'Hello', body: 'Tidegate' },
      audience: { segment: { tagsAll: [tag] } },
      wave_plan: { batch_size: BATCH, wave_size: 3000, interval_seconds: 1, rate_limits: { campaign: RATE_PER_MINUTE } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api('POST', `/admin/campaigns/${id}/start`)).status).toBe(200);
    return id;
  }

  const delivered = () => fakes.fcm.delivered().length + fakes.apns.delivered().length + fakes.webpush.delivered().length;
  const status = async (id: string) => (await api('GET', `/admin/campaigns/${id}`)).body.status as string;

  beforeAll(async () => {
    [db, redis, fakes] = await Promise.all([createTestDatabase(), createTestRedis(), startPushFakes()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    prisma = scheduler.app.get(PrismaService);
    marketer = (await createRoleKeys(scheduler.app)).marketer;
  });

  afterAll(async () => {
    await Promise.all([scheduler?.close(), ...workers.map((w) => w.stop())]);
    await Promise.all([fakes?.close(), redis?.cleanup(), db?.drop()]);
  });

  it('loses nothing when the worker is SIGKILLed mid-wave and started again; duplicates at most what was in flight', async () => {
    const devices: SeededDevice[] = await seedDevices(prisma, fakes, DEVICES, { tags: ['kill'] });
    const before = delivered();
    const worker = await startWorker();
    const id = await startCampaign('kill');
    await waitFor(() => delivered() - before >= 1500, 30_000, '1,500 messages before the kill');
    worker.child.kill('SIGKILL');
    expect(await worker.exited).toBe('SIGKILL');
    const atKill = delivered() - before;
    await startWorker();
    await waitFor(async () => (await status(id)) === 'completed', 90_000, 'the campaign to complete after the restart');

    const received = deliveriesByDevice(fakes, devices);
    const lost = devices.filter((d) => (received.get(d.id) ?? 0) === 0);
    const duplicates = [...received.values()].reduce((n, count) => n + Math.max(0, count - 1), 0);
    process.stdout.write(
      `dispatch SIGKILL: killed after ${atKill} messages; ${duplicates} duplicate(s) after the restart ` +
        `(at most ${CONCURRENCY * BATCH} were in flight)\n`,
    );
    expect(lost).toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY * BATCH);
    // The ledger counts each device once, whatever was re-sent.
    await waitFor(
      async () => (await prisma.campaignStats.findUnique({ where: { campaignId: id } }))?.sent === DEVICES,
      10_000,
      'stats flushed',
    );
  });

  it('pauses mid-wave and resumes: no device skipped, none sent twice', async () => {
    const devices: SeededDevice[] = await seedDevices(prisma, fakes, DEVICES, { tags: ['pause'] });
    if (workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null)) await startWorker();
    const before = delivered();
    const id = await startCampaign('pause');
    await waitFor(() => delivered() - before >= 1000, 30_000, '1,000 messages before the pause');
    const paused = await api('POST', `/admin/campaigns/${id}/pause`, { reason: 'checking the landing page' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ status: 'paused', status_reason: 'checking the landing page' });

    // Batches already with a provider finish; after that nothing more goes out while paused.
    await new Promise((r) => setTimeout(r, 1500));
    const settled = delivered();
    await new Promise((r) => setTimeout(r, 2500));
    expect(delivered()).toBe(settled);
    expect(settled - before).toBeLessThan(DEVICES);

    expect((await api('POST', `/admin/campaigns/${id}/resume`)).status).toBe(200);
    await waitFor(async () => (await status(id)) === 'completed', 60_000, 'the campaign to complete after the resume');
    const received = deliveriesByDevice(fakes, devices);
    expect(devices.filter((d) => received.get(d.id) !== 1)).toEqual([]);
  });
});
