/**
 * Provider outages and mistakes must never lose recipients (issue 9, defect 1), end to end over the real adapters and
 * the fakes: a 503 outage pauses the campaign before anyone fails and resume sends everyone exactly once; recipients
 * still failing transiently after their last attempt pause it and are sent on resume; an invalid-token storm (APNs
 * sandbox vs production) pauses it and deactivates nobody; the resend route sends the failed recipients again.
 */
import { PrismaService } from '@tidegate/database';
import { startScheduler, type RunningApp } from '../support/apps';
import { adminCall } from '../support/admin-api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { waitFor } from '../support/processes';
import { deliveriesByDevice, seedDevices, startPushFakes, type PushFakes, type SeededDevice } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';

describe('dispatch: outages and mistakes lose nobody', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let fakes: PushFakes;
  let scheduler: RunningApp;
  let prisma: PrismaService;
  let keys: Record<string, string>;

  const api = (method: string, path: string, body?: unknown, role = 'marketer') =>
    adminCall(scheduler.url, keys[role] as string, method, path, body);
  const campaign = async (id: string) => (await api('GET', `/admin/campaigns/${id}`)).body;
  const stats = async (id: string) => (await api('GET', `/admin/campaigns/${id}/stats`)).body;
  const timeline = async (id: string) => (await api('GET', `/admin/campaigns/${id}/timeline`)).body.items as Array<Record<string, unknown>>;

  async function start(tag: string, segment: Record<string, unknown> = {}, batch = 100): Promise<string> {
    const created = await api('POST', '/admin/campaigns', {
      name: tag,
      message: { title: 'Hello', body: 'Tidegate' },
      audience: { segment: { tagsAll: [tag], ...segment } },
      wave_plan: { batch_size: batch, wave_size: 300, interval_seconds: 0 },
    });
    expect(created.status).toBe(201);
    expect((await api('POST', `/admin/campaigns/${created.body.id as string}/start`)).status).toBe(200);
    return created.body.id as string;
  }

  const until = (id: string, status: string, what: string) =>
    waitFor(async () => (await campaign(id)).status === status, 60_000, `${what} (status ${status})`);
  const eachOnce = (devices: SeededDevice[]) => devices.filter((d) => deliveriesByDevice(fakes, devices).get(d.id) !== 1);

  beforeAll(async () => {
    [db, redis, fakes] = await Promise.all([createTestDatabase(), createTestRedis(), startPushFakes()]);
    scheduler = await startScheduler(
      // Twelve partitions, as on a Cluster (unset, a single Redis server gets one), by blocks of 8 ids: the 300 devices of
      // a test spread over every partition (the default block, 1,024, would keep them in one).
      {
        databaseUrl: db.url,
        redisPrefix: redis.prefix,
        extra: { ...fakes.env, STATS_FLUSH_MS: '300', DISPATCH_PARTITIONS: '12', DISPATCH_PARTITION_BLOCK: '8' },
      },
      'all',
    );
    prisma = scheduler.app.get(PrismaService);
    keys = await createRoleKeys(scheduler.app);
  });

  afterAll(async () => {
    await scheduler?.close();
    await Promise.all([fakes?.close(), redis?.cleanup(), db?.drop()]);
  });

  afterEach(() => {
    fakes.fcm.clearFailures();
    fakes.apns.clearFailures();
  });

  it('a 503 outage with default settings pauses the campaign before any recipient fails; resume sends everyone once', async () => {
    const devices = await seedDevices(prisma, fakes, 300, { tags: ['outage'] });
    // FCM and APNs are down (two thirds of the audience): 503 to everything, for as long as the outage lasts.
    for (const d of devices) {
      if (d.platform === 'fcm') fakes.fcm.fail(d.key, 'unavailable');
      if (d.platform === 'apns') fakes.apns.fail(d.key, 'ServiceUnavailable');
    }
    const id = await start('outage');
    await until(id, 'paused', 'the error-rate guard to pause the campaign');
    const paused = await stats(id);
    expect(paused.failed).toBe(0);
    expect(paused.status_reason).toMatch(/^paused automatically: \d+ of the last \d+ provider answers failed or asked for a retry/);
    expect((await timeline(id)).at(-1)).toMatchObject({
      kind: 'auto_pause',
      actor: 'error-rate guard',
      from_status: 'running',
      to_status: 'paused',
      figures: { threshold: 0.5 },
    });
    const figures = (await timeline(id)).at(-1)?.figures as { recent_total: number; recent_failed: number };
    expect(figures.recent_failed / figures.recent_total).toBeGreaterThan(0.5);

    // The outage ends; a person resumes.
    fakes.fcm.clearFailures();
    fakes.apns.clearFailures();
    expect((await api('POST', `/admin/campaigns/${id}/resume`)).status).toBe(200);
    await until(id, 'completed', 'the campaign to complete after the outage');
    expect(eachOnce(devices)).toEqual([]);
    expect(await stats(id)).toMatchObject({ targeted: 300, sent: 300, failed: 0 });
  });

  describe('with two attempts per recipient and a small sample', () => {
    beforeAll(async () => {
      const sre = await api('PATCH', '/admin/dispatch/settings', { max_attempts: 2, error_rate: { min_sample: 50 } }, 'sre');
      expect(sre.status).toBe(200);
      // Workers re-read the settings at most a second old (CONTEXT_MAX_AGE_MS).
      await new Promise((r) => setTimeout(r, 1100));
    });

    it('recipients still failing transiently after their last attempt pause the campaign, and are sent on resume', async () => {
      const devices = await seedDevices(prisma, fakes, 300, { tags: ['flaky'] });
      const flaky = devices.filter((d) => d.platform === 'fcm').slice(0, 5);
      for (const d of flaky) fakes.fcm.fail(d.key, 'unavailable', 2);
      const id = await start('flaky');
      await until(id, 'paused', 'the transient-failure guard to pause the campaign');
      const paused = await campaign(id);
      expect(paused.status_reason).toMatch(/^paused automatically: 5 recipients still failed for a transient cause/);

      expect((await api('POST', `/admin/campaigns/${id}/resume`)).status).toBe(200);
      await until(id, 'completed', 'the campaign to complete');
      expect(eachOnce(devices)).toEqual([]);
      expect(await stats(id)).toMatchObject({ targeted: 300, sent: 300, failed: 0 });
      for (const d of flaky) expect(fakes.fcm.received.filter((r) => r.token === d.key).map((r) => r.status)).toEqual([503, 503, 200]);
    });

    it('an invalid-token storm (every APNs device "bad token") pauses the campaign and deactivates nobody', async () => {
      const devices = await seedDevices(prisma, fakes, 300, { tags: ['sandbox'] });
      const apns = devices.filter((d) => d.platform === 'apns');
      for (const d of apns) fakes.apns.fail(d.key, 'BadDeviceToken');
      const id = await start('sandbox', { platforms: ['apns'] }, 50);
      await until(id, 'paused', 'the invalid-token guard to pause the campaign');
      expect((await campaign(id)).status_reason).toMatch(/invalid tokens .*\(APNs sandbox or production\)/);
      expect((await timeline(id)).at(-1)).toMatchObject({ kind: 'auto_pause', actor: 'invalid-token guard' });
      const active = await prisma.device.count({ where: { id: { in: apns.map((d) => BigInt(d.id)) }, active: true } });
      expect(active).toBe(apns.length);
    });

    it('the resend route sends the failed recipients again, once, and the campaign completes again', async () => {
      const devices = await seedDevices(prisma, fakes, 60, { tags: ['resend'] });
      const refused = devices.filter((d) => d.platform === 'fcm').slice(0, 4);
      for (const d of refused) fakes.fcm.fail(d.key, 'invalid_argument');
      const id = await start('resend');
      await until(id, 'completed', 'the campaign to complete with failures');
      expect(await stats(id)).toMatchObject({ sent: 56, failed: 4 });

      fakes.fcm.clearFailures();
      const resent = await api('POST', `/admin/campaigns/${id}/resend-failed`, { reason: 'payload fixed' });
      expect(resent.status).toBe(200);
      expect(resent.body).toMatchObject({ resent: 4, campaign: { status: 'running' } });
      await until(id, 'completed', 'the campaign to complete again');
      expect(eachOnce(devices)).toEqual([]);
      expect(await stats(id)).toMatchObject({ targeted: 60, sent: 60, failed: 0 });
      expect((await timeline(id)).map((e) => e.kind)).toEqual(['start', 'complete', 'resend', 'resent', 'complete']);
      // Nothing left to resend: 0, and still a 200.
      expect((await api('POST', `/admin/campaigns/${id}/resend-failed`)).body).toMatchObject({
        resent: 0,
        campaign: { status: 'completed' },
      });
      expect((await api('POST', `/admin/campaigns/00000000-0000-4000-8000-000000000000/resend-failed`)).status).toBe(404);
    });

    // Batches of 10 in waves of 300: the campaign is pinned to 6 dispatch partitions by blocks of 8 ids (docs/dispatch.md,
    // "Partitions").
    it('split into partitions: an outage pauses the campaign, resume and the resend route send everyone once', async () => {
      const devices = await seedDevices(prisma, fakes, 300, { tags: ['parts'] });
      for (const d of devices) {
        if (d.platform === 'fcm') fakes.fcm.fail(d.key, 'unavailable');
        if (d.platform === 'apns') fakes.apns.fail(d.key, 'ServiceUnavailable');
      }
      const id = await start('parts', {}, 10);
      await until(id, 'paused', 'a guard to pause the partitioned campaign');
      expect(await redis.client.hget(redis.keys.campaign(id).stats, 'partitions')).toBe('6/8');

      // The outage ends, but four FCM devices are now refused for good.
      fakes.fcm.clearFailures();
      fakes.apns.clearFailures();
      const refused = devices.filter((d) => d.platform === 'fcm').slice(0, 4);
      for (const d of refused) fakes.fcm.fail(d.key, 'invalid_argument');
      expect((await api('POST', `/admin/campaigns/${id}/resume`)).status).toBe(200);
      await until(id, 'completed', 'the partitioned campaign to complete with four failures');
      expect(await stats(id)).toMatchObject({ targeted: 300, sent: 296, failed: 4 });

      fakes.fcm.clearFailures();
      const resent = await api('POST', `/admin/campaigns/${id}/resend-failed`, { reason: 'payload fixed' });
      expect(resent.body).toMatchObject({ resent: 4, campaign: { status: 'running' } });
      await until(id, 'completed', 'the partitioned campaign to complete again');
      expect(eachOnce(devices)).toEqual([]);
      expect(await stats(id)).toMatchObject({ targeted: 300, sent: 300, failed: 0 });
    });
  });
});
