/**
 * Redis WITHOUT persistence (the machine's default redis-server config) restarted, so it comes back empty: the
 * queues, the ledger (who was sent), the live counters and the parked jobs are gone; PostgreSQL still has the
 * campaign, its status and its wave checkpoints.
 * - Mid-campaign: the workers' watchdog (DISPATCH_REDRIVE_MS) finds a running campaign with no progress and no job,
 *   and waves in PostgreSQL but no counters in Redis. Re-driving it from the checkpoints would send those waves again
 *   (the ledger that said who got one is gone), so it pauses the campaign with the reason instead: nothing is sent
 *   twice, and the rest of the audience waits for a person's decision.
 * - Before the first wave: nothing was sent, so nothing can be sent twice: the workers' clock finds the running
 *   campaign without a wave in PostgreSQL and queues wave 1 again; the campaign completes, each device once.
 */
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/processes';
import { CampaignRig, type WavePlan } from './support/campaign-rig';
import { recordFigures } from './support/figures';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis';

const DEVICES = 3000;
const CONCURRENCY = 4;
const PLAN: WavePlan = { batchSize: 50, waveSize: 1000, intervalSeconds: 1, ratePerMinute: 18_000 };
const IN_FLIGHT = CONCURRENCY * PLAN.batchSize;
/** The watchdog's patience (60 s in production): how long a running campaign may show no progress. */
const REDRIVE_MS = 4000;

describe('Redis without persistence restarted (empty)', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let rig: CampaignRig;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), startPrivateRedis({ persistent: false })]);
    rig = await CampaignRig.start({
      databaseUrl: db.url,
      redisUrl: redis.url,
      redisPrefix: `fault-${randomBytes(4).toString('hex')}`,
      workerEnv: {
        SEND_CONCURRENCY: String(CONCURRENCY),
        JOB_LOCK_MS: '2000',
        STATS_FLUSH_MS: '500',
        DISPATCH_REDRIVE_MS: String(REDRIVE_MS),
      },
    });
  });

  afterAll(async () => {
    await rig?.close();
    await Promise.all([redis?.close(), db?.drop()]);
  });

  it('mid-campaign: the watchdog pauses the campaign with the reason (its ledger is gone); nothing is sent twice', async () => {
    await rig.startWorker();
    const devices = await rig.seed(DEVICES, 'mid');
    const before = rig.delivered();
    const id = await rig.startCampaign('mid', PLAN);
    await waitFor(() => rig.delivered() - before >= DEVICES / 3, 60_000, 'a third of the campaign sent');
    await redis.kill();
    const atKill = rig.delivered() - before;
    await redis.start();
    const restartedAt = Date.now();

    let reason = '';
    await waitFor(
      async () => {
        const res = await rig.call('GET', `/admin/campaigns/${id}`);
        reason = String(res.body.status_reason);
        return res.body.status === 'paused';
      },
      60_000,
      'the watchdog to pause the campaign',
    );
    const pausedAfterS = (Date.now() - restartedAt) / 1000;
    expect(reason).toMatch(/Redis has lost this campaign's ledger/);
    const timeline = await rig.call('GET', `/admin/campaigns/${id}/timeline`);
    expect(timeline.status).toBe(200);
    // The timeline says who paused it: the watchdog, from running.
    const last = (timeline.body.items as Array<Record<string, unknown>>).at(-1);
    expect(last).toMatchObject({ to_status: 'paused', from_status: 'running', actor: 'watchdog' });
    const settledOut = rig.delivered() - before;
    const { lost, duplicated, devicesTwice } = rig.outcome(devices);
    // Only the batches a worker had with a provider at the kill may have gone out after it, and none twice.
    expect(duplicated).toBeLessThanOrEqual(IN_FLIGHT);
    expect(settledOut).toBeLessThanOrEqual(atKill + IN_FLIGHT);
    // The rest of the audience is held, not sent: the pause is a person's decision to take.
    expect(lost).toBe(DEVICES - (settledOut - duplicated));
    expect(lost).toBeGreaterThan(0);
    recordFigures('redis-volatile-campaign', {
      fault: 'Redis WITHOUT persistence restarted empty mid-campaign (ledger and queues lost)',
      lost,
      duplicated,
      overCapacity: 0,
      completed: false,
      extra: {
        devices: DEVICES,
        sentBeforeLoss: atKill,
        devicesTwice,
        outcome: 'paused by the watchdog: ledger lost',
        pausedAfterRestartS: pausedAfterS.toFixed(1),
        redriveMs: REDRIVE_MS,
      },
    });
  }, 200_000);

  it('before the first wave: the clock queues wave 1 again from PostgreSQL; the campaign completes, each device once', async () => {
    // No worker while the campaign starts: its first planner job waits in Redis, and Redis loses it.
    await Promise.all(rig.workers.splice(0).map((w) => w.stop()));
    const devices = await rig.seed(DEVICES, 'early');
    const before = rig.delivered();
    const id = await rig.startCampaign('early', PLAN);
    await redis.kill();
    await redis.start();
    const restartedAt = Date.now();
    await rig.startWorker();
    await waitFor(async () => (await rig.status(id)) === 'completed', 120_000, 'the campaign to complete');
    const completedAfterS = (Date.now() - restartedAt) / 1000;
    const { lost, duplicated } = rig.outcome(devices);
    expect(rig.delivered() - before).toBe(DEVICES);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    recordFigures('redis-volatile-before-first-wave', {
      fault: 'Redis WITHOUT persistence restarted empty after a campaign started, before its first wave',
      lost,
      duplicated,
      overCapacity: 0,
      completed: true,
      extra: { devices: DEVICES, recoveredFrom: 'PostgreSQL (running, no wave)', completedAfterRestartS: completedAfterS.toFixed(1) },
    });
  }, 200_000);
});
