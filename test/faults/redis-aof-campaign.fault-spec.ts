/**
 * Redis with AOF (`appendfsync everysec`, as production runs it) killed in the middle of a campaign and started again
 * on the same port and folder: the log is replayed, the workers reconnect, the campaign completes.
 * - The process killed (SIGKILL): every write Redis acknowledged was already in the OS's page cache, so the AOF holds
 *   it; duplicates are at most the batches in flight when it died (sent, not yet recorded).
 * - The machine losing power: everysec may lose the last second of writes. Played by copying the AOF, letting a
 *   second's worth of messages go out, killing Redis and putting the copy back: the ledger forgets what went out
 *   after the copy, so those devices may get their message twice; nobody is skipped.
 * The apps are separate processes (the built dist/); Redis is a private redis-server, PostgreSQL the test database.
 */
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { httpStatus, waitFor } from '../support/processes';
import { CampaignRig, type WavePlan } from './support/campaign-rig';
import { recordFigures } from './support/figures';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis';

const DEVICES = 3000;
const CONCURRENCY = 4;
/** 300 messages a second: the campaign takes about 10 s, so the kill lands mid-campaign. */
const PLAN: WavePlan = { batchSize: 50, waveSize: 1000, intervalSeconds: 1, ratePerMinute: 18_000 };
const PER_SECOND = PLAN.ratePerMinute / 60;
/** Messages a worker may have with a provider, not yet in the ledger. */
const IN_FLIGHT = CONCURRENCY * PLAN.batchSize;

describe('Redis with AOF restarted mid-campaign', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let rig: CampaignRig;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), startPrivateRedis({ persistent: true })]);
    rig = await CampaignRig.start({
      databaseUrl: db.url,
      redisUrl: redis.url,
      redisPrefix: `fault-${randomBytes(4).toString('hex')}`,
      workerEnv: { SEND_CONCURRENCY: String(CONCURRENCY), JOB_LOCK_MS: '2000', STATS_FLUSH_MS: '500' },
    });
    await rig.startWorker();
  });

  afterAll(async () => {
    await rig?.close();
    await Promise.all([redis?.close(), db?.drop()]);
  });

  it('SIGKILL and restart: the AOF replays, the campaign completes, nobody lost, duplicates at most what was in flight', async () => {
    const devices = await rig.seed(DEVICES, 'kill');
    const before = rig.delivered();
    const id = await rig.startCampaign('kill', PLAN);
    await waitFor(() => rig.delivered() - before >= DEVICES / 3, 60_000, 'a third of the campaign sent');
    await redis.kill();
    const atKill = rig.delivered() - before;
    const downAt = Date.now();
    // Down long enough for the apps to notice: the worker's readiness says Redis is gone.
    const worker = rig.workers[0]!;
    await waitFor(async () => (await httpStatus(`${worker.url}/health/ready`)) === 503, 15_000, "the worker's readiness to fail");
    await redis.start();
    const restartedAt = Date.now();
    await waitFor(async () => (await rig.status(id)) === 'completed', 120_000, 'the campaign to complete after the restart');
    const recoverySeconds = (Date.now() - restartedAt) / 1000;

    const { lost, duplicated, devicesTwice } = rig.outcome(devices);
    expect(lost).toBe(0);
    expect(duplicated).toBeLessThanOrEqual(IN_FLIGHT);
    // The ledger and the counters came back: the stats count every device once.
    const stats = await rig.call('GET', `/admin/campaigns/${id}/stats`);
    expect(stats.body).toMatchObject({ status: 'completed', sent: DEVICES });
    recordFigures('redis-aof-sigkill-campaign', {
      fault: 'Redis (AOF everysec) SIGKILLed mid-campaign, restarted',
      lost,
      duplicated,
      overCapacity: 0,
      completed: true,
      extra: {
        devices: DEVICES,
        sentAtKill: atKill,
        devicesTwice,
        bound: IN_FLIGHT,
        redisDownMs: restartedAt - downAt,
        completedAfterRestartS: recoverySeconds.toFixed(1),
      },
    });
  }, 200_000);

  it("power loss (the AOF's last second gone): the campaign completes, nobody lost, duplicates at most what the lost second sent", async () => {
    const devices = await rig.seed(DEVICES, 'power');
    const before = rig.delivered();
    const id = await rig.startCampaign('power', PLAN);
    await waitFor(() => rig.delivered() - before >= DEVICES / 3, 60_000, 'a third of the campaign sent');
    const atSnapshot = rig.delivered() - before;
    const copy = redis.snapshot();
    // A second's worth of messages goes out after the copy: the writes everysec may lose.
    await waitFor(() => rig.delivered() - before >= atSnapshot + PER_SECOND, 30_000, "a second's worth of messages after the copy");
    await redis.kill();
    const atKill = rig.delivered() - before;
    redis.restore(copy);
    await redis.start();
    const restartedAt = Date.now();
    await waitFor(async () => (await rig.status(id)) === 'completed', 120_000, 'the campaign to complete after the power loss');
    const recoverySeconds = (Date.now() - restartedAt) / 1000;

    const { lost, duplicated, devicesTwice } = rig.outcome(devices);
    // What went out after the copy has no ledger entry any more, nor had the batches with a provider at the copy; the
    // batches in flight at the kill are the same case. Anything else twice would be a defect.
    const bound = atKill - atSnapshot + 2 * IN_FLIGHT;
    expect(lost).toBe(0);
    expect(duplicated).toBeLessThanOrEqual(bound);
    recordFigures('redis-aof-power-loss-campaign', {
      fault: 'Redis (AOF everysec) loses its last ~1 s of writes mid-campaign (power loss played by restoring an AOF copy)',
      lost,
      duplicated,
      overCapacity: 0,
      completed: true,
      extra: {
        devices: DEVICES,
        sentAfterCopy: atKill - atSnapshot,
        devicesTwice,
        bound,
        completedAfterRestartS: recoverySeconds.toFixed(1),
      },
    });
  }, 200_000);
});
