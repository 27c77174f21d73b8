/**
 * What the scheduler does with each kind of provider answer, end to end over the real adapters and the fakes:
 * 5xx is retried with backoff until accepted, 429 honours Retry-After and slows the provider's limiter, another
 * 4xx is recorded as failed without a retry, invalid tokens deactivate devices, and a failure rate above the SREs'
 * threshold pauses the campaign with the reason recorded.
 */
import { PrismaService } from '@tidegate/database';
import { RedisKeys } from '@tidegate/redis';
import { startScheduler, type RunningApp } from '../support/apps';
import { adminCall } from '../support/admin-api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { metricValue, waitFor } from '../support/processes';
import { deliveriesByDevice, seedDevices, startPushFakes, type PushFakes, type SeededDevice } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';

describe('dispatch: provider results', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let fakes: PushFakes;
  let scheduler: RunningApp;
  let prisma: PrismaService;
  let keys: Record<string, string>;

  const api = (method: string, path: string, body?: unknown, role = 'marketer') =>
    adminCall(scheduler.url, keys[role] as string, method, path, body);

  async function runCampaign(tag: string): Promise<string> {
    const created = await api('POST', '/admin/campaigns', {
      name: tag,
      message: { title: 'Hello', body: 'Tidegate' },
      audience: { segment: { tagsAll: [tag] } },
      wave_plan: { batch_size: 50, wave_size: 50, interval_seconds: 0 },
    });
    expect(created.status).toBe(201);
    expect((await api('POST', `/admin/campaigns/${created.body.id as string}/start`)).status).toBe(200);
    return created.body.id as string;
  }

  const campaign = async (id: string) => (await api('GET', `/admin/campaigns/${id}`)).body;

  beforeAll(async () => {
    [db, redis, fakes] = await Promise.all([createTestDatabase(), createTestRedis(), startPushFakes()]);
    scheduler = await startScheduler(
      { databaseUrl: db.url, redisPrefix: redis.prefix, extra: { ...fakes.env, STATS_FLUSH_MS: '300' } },
      'all',
    );
    prisma = scheduler.app.get(PrismaService);
    keys = await createRoleKeys(scheduler.app);
  });

  afterAll(async () => {
    await scheduler?.close();
    await Promise.all([fakes?.close(), redis?.cleanup(), db?.drop()]);
  });

  it('retries 5xx and 429 (after Retry-After, slowing the provider), fails other 4xx once, deactivates invalid tokens', async () => {
    const devices: SeededDevice[] = await seedDevices(prisma, fakes, 30, { tags: ['results'] });
    const fcm = devices.filter((d) => d.platform === 'fcm');
    const [flaky, throttled, refused, gone] = fcm as [SeededDevice, SeededDevice, SeededDevice, SeededDevice];
    fakes.fcm.fail(flaky.key, 'unavailable', 2);
    fakes.fcm.retryAfter = '1';
    fakes.fcm.fail(throttled.key, 'quota_exceeded', 1);
    fakes.fcm.fail(refused.key, 'invalid_argument');
    fakes.fcm.fail(gone.key, 'unregistered');
    const startedAt = Date.now();

    const id = await runCampaign('results');
    await waitFor(async () => (await campaign(id)).status === 'completed', 60_000, 'the campaign to complete');

    const requests = (token: string) => fakes.fcm.received.filter((r) => r.token === token);
    expect(requests(flaky.key).map((r) => r.status)).toEqual([503, 503, 200]);
    expect(requests(throttled.key).map((r) => r.status)).toEqual([429, 200]);
    expect(requests(refused.key).map((r) => r.status)).toEqual([400]);
    expect(requests(gone.key).map((r) => r.status)).toEqual([404]);

    const received = deliveriesByDevice(fakes, devices);
    expect(devices.filter((d) => d !== refused && d !== gone && received.get(d.id) !== 1)).toEqual([]);
    const state = await prisma.device.findMany({ where: { id: { in: [BigInt(refused.id), BigInt(gone.id)] } }, orderBy: { id: 'asc' } });
    expect(state.map((d) => [d.id.toString(), d.active])).toEqual(
      [
        [refused.id, true],
        [gone.id, false],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );
    expect(state.find((d) => d.id.toString() === gone.id)?.deactivatedReason).toMatch(/UNREGISTERED/);

    // The 429 blocked FCM's bucket for its Retry-After and halved its rate factor.
    const bucket = await redis.client.hgetall(new RedisKeys(redis.prefix).limits.provider('fcm'));
    expect(Number(bucket.blocked_until)).toBeGreaterThanOrEqual(startedAt + 1000);
    expect(Number(bucket.factor)).toBeLessThan(1);

    await waitFor(async () => (await prisma.campaignStats.findUnique({ where: { campaignId: id } }))?.sent === 28, 10_000, 'stats flushed');
    expect(await prisma.campaignStats.findUnique({ where: { campaignId: id } })).toMatchObject({
      targeted: 30,
      sent: 28,
      failed: 1,
      invalid: 1,
    });
  }, 100_000);

  it('pauses a campaign whose failure rate passes the threshold, and says why', async () => {
    const sre = await api('PATCH', '/admin/dispatch/settings', { error_rate: { threshold: 0.2, min_sample: 20 } }, 'sre');
    expect(sre.status).toBe(200);
    // Workers re-read the settings at most a second old (CONTEXT_MAX_AGE_MS): let the change reach them.
    await new Promise((r) => setTimeout(r, 1100));
    const devices = await seedDevices(prisma, fakes, 300, { tags: ['broken'] });
    // Every Web Push subscription is refused (400): a third of the audience fails.
    for (const d of devices.filter((x) => x.platform === 'webpush')) fakes.webpush.fail(d.key, { status: 400 });

    const id = await runCampaign('broken');
    await waitFor(async () => (await campaign(id)).status !== 'running', 30_000, 'the campaign to pause itself');
    const paused = await campaign(id);
    expect(paused.status_reason).toMatch(/^paused automatically: \d+ of the last \d+ provider answers failed or asked for a retry/);
    const sentBefore = deliveriesByDevice(fakes, devices);
    expect([...sentBefore.values()].filter((n) => n > 0).length).toBeLessThan(200);
  });

  it("applies an SRE's new rate and wave size to a running campaign without a restart, and logs the change", async () => {
    const devices = await seedDevices(prisma, fakes, 400, { tags: ['tuned'] });
    const created = await api('POST', '/admin/campaigns', {
      name: 'tuned',
      message: { title: 'Hello', body: 'Tidegate' },
      audience: { segment: { tagsAll: ['tuned'] } },
      // 60 a minute: 400 recipients would take almost 7 minutes.
      wave_plan: { batch_size: 20, wave_size: 100, interval_seconds: 0, rate_limits: { campaign: 60 } },
    });
    const id = created.body.id as string;
    const rateWaits = () => metricValue(scheduler.url, 'tidegate_dispatch_waits_total', { reason: 'rate_limit' });
    const waitsBefore = await rateWaits();
    const reached = () => [...deliveriesByDevice(fakes, devices).values()].filter((n) => n > 0).length;
    expect((await api('POST', `/admin/campaigns/${id}/start`)).status).toBe(200);
    // The limit bites: the first messages went out, and a batch was told to wait for the rate limit (the sender
    // counts each such wait). A wave of 100 has not gone out whole.
    await waitFor(
      async () => reached() > 0 && (await rateWaits()) > waitsBefore,
      20_000,
      'first deliveries, then a batch waiting for the rate',
    );
    expect(reached()).toBeLessThan(100);

    const tuned = await api(
      'PATCH',
      `/admin/campaigns/${id}/dispatch`,
      { rate_per_minute: 600_000, wave_size: 200, reason: 'the room is empty' },
      'sre',
    );
    expect(tuned.status).toBe(200);
    await waitFor(async () => (await campaign(id)).status === 'completed', 30_000, 'the campaign to finish at the new rate');
    expect([...deliveriesByDevice(fakes, devices).values()].every((n) => n === 1)).toBe(true);
    // Waves planned after the change are of the new size.
    const waves = await prisma.campaignWave.findMany({ where: { campaignId: id }, orderBy: { wave: 'asc' } });
    expect(waves.at(-1)!.wave).toBeLessThan(4);
    expect(waves.some((w) => w.size === 200)).toBe(true);

    const changes = await api('GET', `/admin/dispatch/changes?scope=campaign:${id}`, undefined, 'sre');
    expect(changes.status).toBe(200);
    expect(JSON.stringify(changes.body)).toContain('sre-key');
  });
});
