/**
 * PostgreSQL stopped for 30 s in the middle of a campaign (`pg_ctl stop -m fast` on a private server, then started
 * again). Meanwhile the admin API answers 503 with the reason (never a 500), and serves what Redis holds (the
 * campaign's live stats, keys verified within the last minute); the workers stay up and their jobs retry with
 * backoff. Once PostgreSQL is back the campaign completes: nobody lost, each device once, the stats written behind.
 * The apps are separate processes (the built dist/); Redis is the test Redis under this file's prefix.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { testEnv } from '../support/env';
import { httpStatus, waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';
import { CampaignRig, type WavePlan } from './support/campaign-rig';
import { recordFigures } from './support/figures';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres';

const DEVICES = 3000;
const CONCURRENCY = 4;
/** 100 messages a second: the campaign takes about 30 s without the outage. */
const PLAN: WavePlan = { batchSize: 50, waveSize: 1000, intervalSeconds: 1, ratePerMinute: 6000 };
const OUTAGE_MS = 30_000;

describe('PostgreSQL stopped for 30 s mid-campaign', () => {
  let pg: PrivatePostgres;
  let redis: TestRedis;
  let rig: CampaignRig;
  let databaseUrl: string;

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPrivatePostgres(), createTestRedis()]);
    databaseUrl = pg.url('tidegate');
    execFileSync(process.execPath, [path.resolve(__dirname, '../../tools/db.js'), 'migrate'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    rig = await CampaignRig.start({
      databaseUrl,
      redisUrl: testEnv.redisUrl,
      redisPrefix: redis.prefix,
      workerEnv: { SEND_CONCURRENCY: String(CONCURRENCY), STATS_FLUSH_MS: '500' },
    });
    await rig.startWorker();
  });

  afterAll(async () => {
    await rig?.close();
    await redis?.cleanup();
    pg?.close();
  });

  it('answers 503 with the reason meanwhile, keeps the workers up, and completes the campaign once it is back: nobody lost, each device once', async () => {
    const devices = await rig.seed(DEVICES, 'pg');
    const before = rig.delivered();
    const id = await rig.startCampaign('pg', PLAN);
    await waitFor(() => rig.delivered() - before >= DEVICES / 4, 60_000, 'a quarter of the campaign sent');
    // The key was verified a moment ago (the api caches that in Redis for a minute).
    expect((await rig.call('GET', `/admin/campaigns/${id}/stats`)).status).toBe(200);

    pg.stop();
    const stoppedAt = Date.now();
    const atStop = rig.delivered() - before;
    const worker = rig.workers[0]!;
    /** Every status each route answered during the outage, and what the campaign's stats said. */
    const seen = new Map<string, Set<number>>();
    const note = (route: string, status: number) => seen.set(route, (seen.get(route) ?? new Set()).add(status));
    const reasons = new Set<string>();
    let statsSource: string | undefined;
    let statsSentMax = 0;
    let polls = 0;
    // Bounded: the outage lasts OUTAGE_MS; a poll takes a few ms (each call has its own timeout).
    while (Date.now() - stoppedAt < OUTAGE_MS && polls < 1000) {
      polls++;
      const campaign = await rig.call('GET', `/admin/campaigns/${id}`);
      note('GET /admin/campaigns/:id', campaign.status);
      if (campaign.status === 503) reasons.add(String(campaign.body.message));
      const stats = await rig.call('GET', `/admin/campaigns/${id}/stats`);
      note('GET /admin/campaigns/:id/stats', stats.status);
      if (stats.status === 200) {
        statsSource = String(stats.body.source);
        statsSentMax = Math.max(statsSentMax, Number(stats.body.sent));
      }
      note('POST /admin/campaigns/:id/pause', (await rig.call('POST', `/admin/campaigns/${id}/pause`, { reason: 'outage' })).status);
      note('GET /health/ready (api)', await httpStatus(`${rig.api.url}/health/ready`));
      note('GET /health/ready (worker)', await httpStatus(`${worker.url}/health/ready`));
      await new Promise((r) => setTimeout(r, 500));
    }
    const duringOutage = rig.delivered() - before - atStop;
    pg.start();
    const restartedAt = Date.now();

    // Never a 500: what needs PostgreSQL is a 503 naming it, what Redis holds is served.
    const all = [...seen.values()].flatMap((s) => [...s]);
    expect(all.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    expect(seen.get('GET /admin/campaigns/:id')).toEqual(new Set([503]));
    expect([...reasons].every((r) => r.startsWith('database unavailable'))).toBe(true);
    expect(seen.get('POST /admin/campaigns/:id/pause')).toEqual(new Set([503]));
    expect(seen.get('GET /admin/campaigns/:id/stats')).toEqual(new Set([200]));
    expect(statsSource).toBe('redis');
    expect(seen.get('GET /health/ready (api)')).toEqual(new Set([503]));
    expect(seen.get('GET /health/ready (worker)')).toEqual(new Set([503]));
    // The worker rode it out (no crash loop).
    expect(worker.child.exitCode).toBeNull();

    await waitFor(async () => (await rig.status(id)) === 'completed', 180_000, 'the campaign to complete once PostgreSQL is back');
    const completedAfterS = (Date.now() - restartedAt) / 1000;
    const { lost, duplicated } = rig.outcome(devices);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    // The write-behind caught up: PostgreSQL's stats count every device once.
    await waitFor(
      async () => (await rig.prisma.campaignStats.findUnique({ where: { campaignId: id } }))?.sent === DEVICES,
      30_000,
      "PostgreSQL's stats to reach every device",
    );
    const statuses = [...seen.entries()].map(([route, s]) => `${route} ${[...s].join('/')}`).join(', ');
    process.stdout.write(`postgres outage: ${atStop} sent before, ${duringOutage} during, statuses: ${statuses}\n`);
    recordFigures('postgres-stopped-campaign', {
      fault: 'PostgreSQL stopped for 30 s mid-campaign',
      lost,
      duplicated,
      overCapacity: 0,
      completed: true,
      extra: {
        devices: DEVICES,
        sentBeforeStop: atStop,
        sentDuringOutage: duringOutage,
        statsFromRedisSentMax: statsSentMax,
        statuses,
        completedAfterRestartS: completedAfterS.toFixed(1),
      },
    });
  }, 300_000);
});
