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
import { metricValue, waitFor, type Proc } from '../support/processes';
import { deliveriesByDevice, seedDevices, spawnWorker, startPushFakes, type PushFakes, type SeededDevice } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';
import { recordFigures } from './support/figures';

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
  const workers: Array<Proc & { url: string }> = [];

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
    recordFigures('worker-sigkill', {
      fault: 'scheduler worker SIGKILLed mid-wave, started again',
      lost: lost.length,
      duplicated: duplicates,
      overCapacity: 0,
      completed: true,
      extra: { devices: DEVICES, sentAtKill: atKill, inFlightBound: CONCURRENCY * BATCH },
    });
  }, 160_000);

  it('pauses mid-wave and resumes: no device skipped, none sent twice', async () => {
    const devices: SeededDevice[] = await seedDevices(prisma, fakes, DEVICES, { tags: ['pause'] });
    const alive = (w: Proc) => w.child.exitCode === null && w.child.signalCode === null;
    const worker = workers.find(alive) ?? (await startWorker());
    const before = delivered();
    const id = await startCampaign('pause');
    await waitFor(() => delivered() - before >= 1000, 30_000, '1,000 messages before the pause');
    // Batches already with a provider finish; after that nothing more goes out while paused. The proof: no job is
    // sending or about to (no send or plan job active or waiting), and every batch left is parked (as many send jobs
    // delayed as the worker has parked since the pause; a batch waiting for the rate limit would wake and send).
    const parked = () => metricValue(worker.url, 'tidegate_dispatch_waits_total', { reason: 'paused' });
    const parkedBefore = await parked();
    const paused = await api('POST', `/admin/campaigns/${id}/pause`, { reason: 'checking the landing page' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ status: 'paused', status_reason: 'checking the landing page' });
    await waitFor(
      async () => {
        const queues = (await api('GET', '/admin/queues')).body as Record<string, Record<string, number>>;
        // The send queues are partitioned (`send-<q>`, and the old `send` while it drains): added up.
        const send = Object.entries(queues)
          .filter(([name]) => name === 'send' || name.startsWith('send-'))
          .reduce<Record<string, number>>((sum, [, counts]) => {
            for (const [state, n] of Object.entries(counts)) sum[state] = (sum[state] ?? 0) + n;
            return sum;
          }, {});
        const idle = (q: Record<string, number> | undefined) => q !== undefined && q.active === 0 && q.waiting === 0 && q.prioritized === 0;
        return idle(send) && idle(queues.plan) && send.delayed! > 0 && send.delayed === (await parked()) - parkedBefore;
      },
      20_000,
      'every batch left to send parked',
    );
    const settled = delivered();
    process.stdout.write(`dispatch pause: ${settled - before} messages out, ${(await parked()) - parkedBefore} batches parked\n`);
    expect(settled - before).toBeLessThan(DEVICES);
    // Every message that went out is in the ledger (so the resume sends none of them again).
    expect((await api('GET', `/admin/campaigns/${id}/stats`)).body).toMatchObject({ status: 'paused', sent: settled - before });

    expect((await api('POST', `/admin/campaigns/${id}/resume`)).status).toBe(200);
    await waitFor(async () => (await status(id)) === 'completed', 60_000, 'the campaign to complete after the resume');
    const received = deliveriesByDevice(fakes, devices);
    expect(devices.filter((d) => received.get(d.id) !== 1)).toEqual([]);
    recordFigures('worker-pause-resume', {
      fault: 'campaign paused mid-wave, resumed (not a fault: the control)',
      lost: 0,
      duplicated: 0,
      overCapacity: 0,
      completed: true,
      extra: { devices: DEVICES, sentBeforePause: settled - before },
    });
  }, 140_000);
});
