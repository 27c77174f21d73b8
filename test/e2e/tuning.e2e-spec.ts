/**
 * Run-time tuning over the admin API against a booted scheduler (real PostgreSQL and Redis): the system dispatch
 * settings and their change log, defaults for new campaigns, a running campaign's rate and wave size, opens, and
 * live stats (from Redis, and from PostgreSQL when Redis has lost them).
 */
import type { Role } from '@tidegate/contracts';
import { DeviceRepository, PrismaService, type DeviceData } from '@tidegate/database';
import { adminClient, type AdminAnswer } from '../support/admin-api';
import { startScheduler, type RunningApp } from '../support/apps';
import { createRoleKeys } from '../support/keys';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestRedis, type TestRedis } from '../support/redis';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment
   -- the tests build and read free-form JSON bodies (bad ones on purpose) */
type Json = Record<string, any>;
type Answer = AdminAnswer<Json>;

const campaignBody = (): Json => ({
  name: 'Spring sale',
  message: { title: 'Spring sale', body: 'Everything -30% until midnight' },
  audience: { segment: { tagsAll: ['spring'] } },
});

describe('admin API: run-time tuning', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let prisma: PrismaService;
  const keys: Partial<Record<Role, string>> = {};
  /** Devices: two of user u1, one without a user, one of user u2. */
  const device: Record<'u1a' | 'u1b' | 'anonymous' | 'u2', string> = { u1a: '', u1b: '', anonymous: '', u2: '' };

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    prisma = scheduler.app.get(PrismaService);
    Object.assign(keys, await createRoleKeys(scheduler.app));
    const devices = scheduler.app.get(DeviceRepository);
    const data = (token: string, userId: string | null): DeviceData => ({
      platform: 'fcm',
      token,
      p256dh: null,
      auth: null,
      userId,
      timezone: 'UTC',
      locale: null,
      tags: ['spring'],
      appVersion: null,
    });
    for (const [name, userId] of [
      ['u1a', 'u1'],
      ['u1b', 'u1'],
      ['anonymous', null],
      ['u2', 'u2'],
    ] as const) {
      device[name] = (await devices.register(data(`token-${name}`, userId))).device.id.toString();
    }
  });

  afterAll(async () => {
    await scheduler?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const { call, as } = adminClient<Json>(() => scheduler.url, keys);
  const sre = as('sre');
  const marketer = as('marketer');
  const viewer = as('viewer');
  const messages = (answer: Answer) => [answer.body.message ?? []].flat() as string[];
  const changeCount = () => prisma.settingChange.count();

  /** A campaign in `status` (set directly in PostgreSQL, as the sending workers would). */
  const campaignIn = async (status: 'draft' | 'scheduled' | 'running' | 'paused' | 'completed', body: Json = campaignBody()) => {
    const created = await marketer('POST', '/admin/campaigns', body);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    if (status !== 'draft') await prisma.campaign.update({ where: { id }, data: { status } });
    return id;
  };

  describe('system dispatch settings', () => {
    it('lets viewers read, only SREs change (401 without a key, 403 below sre)', async () => {
      expect((await call('GET', '/admin/dispatch/settings')).status).toBe(401);
      const read = await viewer('GET', '/admin/dispatch/settings');
      expect(read.status).toBe(200);
      expect(read.body).toEqual({
        batch_size: 500,
        wave_size: 50_000,
        interval_seconds: 60,
        rate_limits: { global: null, per_provider: { fcm: 600_000, apns: null, webpush: null } },
        error_rate: { threshold: 0.5, invalid_threshold: 0.5, min_sample: 200 },
        max_attempts: 5,
        room_pressure_limit: 1,
        open_model: { open_rate: 0.1, median_delay_seconds: 30, sigma: 1 },
        updated_at: null,
        updated_by: null,
      });
      expect((await viewer('PATCH', '/admin/dispatch/settings', { batch_size: 100 })).status).toBe(403);
      expect((await marketer('PATCH', '/admin/dispatch/settings', { batch_size: 100 })).status).toBe(403);
      expect((await viewer('GET', '/admin/dispatch/changes')).status).toBe(200);
      expect(await changeCount()).toBe(0);
    });

    it('applies a partial change, shows it, and logs who changed what from what', async () => {
      const patched = await sre('PATCH', '/admin/dispatch/settings', {
        batch_size: 200,
        wave_size: 4000,
        interval_seconds: 30,
        rate_limits: { per_provider: { apns: 900 } },
        error_rate: { threshold: 0.3 },
        reason: 'origin is slow',
      });
      expect(patched.status).toBe(200);
      const expected = {
        batch_size: 200,
        wave_size: 4000,
        interval_seconds: 30,
        rate_limits: { global: null, per_provider: { fcm: 600_000, apns: 900, webpush: null } },
        error_rate: { threshold: 0.3, min_sample: 200 },
        max_attempts: 5,
        room_pressure_limit: 1,
      };
      expect(patched.body).toMatchObject({ ...expected, updated_by: 'sre-key' });
      const read = await viewer('GET', '/admin/dispatch/settings');
      expect(read.body).toEqual(patched.body);
      expect(Date.parse(read.body.updated_at as string)).toBeGreaterThan(Date.now() - 60_000);

      const log = await viewer('GET', '/admin/dispatch/changes?scope=dispatch');
      expect(log.status).toBe(200);
      expect(log.body.items).toHaveLength(1);
      expect(log.body.items[0]).toMatchObject({
        scope: 'dispatch',
        actor: 'sre-key',
        reason: 'origin is slow',
        old: { batch_size: 500, wave_size: 50_000, rate_limits: { per_provider: { apns: null } } },
        new: expected,
      });
      expect(log.body.items[0].actor_key_id).toEqual(expect.any(String));
      expect(log.body.next_cursor).toBeNull();
    });

    it('answers a patch that changes nothing without logging it', async () => {
      const before = await changeCount();
      const same = await sre('PATCH', '/admin/dispatch/settings', { batch_size: 200, rate_limits: { per_provider: { apns: 900 } } });
      expect(same.status).toBe(200);
      expect(same.body.batch_size).toBe(200);
      expect(await changeCount()).toBe(before);
    });

    const bad: Array<[string, Json, RegExp]> = [
      ['batch size 0', { batch_size: 0 }, /^batch_size: must be between 1 and 500/],
      ['batch size 501', { batch_size: 501 }, /^batch_size: must be between 1 and 500/],
      ['a fractional batch size', { batch_size: 10.5 }, /^batch_size: must be a whole number/],
      ['a batch size as text', { batch_size: '10' }, /^batch_size must be a number/],
      ['a wave size below the batch size in force', { wave_size: 100 }, /^wave_size: must be at least the batch size \(200\)/],
      [
        'a batch size above the wave size in force',
        { batch_size: 300, wave_size: 250 },
        /^wave_size: must be at least the batch size \(300\)/,
      ],
      ['a negative interval', { interval_seconds: -1 }, /^interval_seconds: /],
      ['a global rate of 0', { rate_limits: { global: 0 } }, /^rate_limits\.global: must be greater than 0/],
      ['a negative provider quota', { rate_limits: { per_provider: { fcm: -1 } } }, /^rate_limits\.per_provider\.fcm: /],
      ['an unknown provider', { rate_limits: { per_provider: { sms: 5 } } }, /per_provider\.property sms should not exist/],
      ['a threshold of 0', { error_rate: { threshold: 0 } }, /^error_rate\.threshold: must be above 0 and at most 1/],
      ['a threshold above 1', { error_rate: { threshold: 1.5 } }, /^error_rate\.threshold: /],
      ['a minimum sample of 0', { error_rate: { min_sample: 0 } }, /^error_rate\.min_sample: must be at least 1/],
      [
        'an invalid-token threshold above 1',
        { error_rate: { invalid_threshold: 2 } },
        /^error_rate\.invalid_threshold: must be above 0 and at most 1/,
      ],
      ['21 attempts', { max_attempts: 21 }, /^max_attempts: must be between 1 and 20/],
      ['a null attempt count', { max_attempts: null }, /^max_attempts must be a number/],
      ['a room pressure limit of 0', { room_pressure_limit: 0 }, /^room_pressure_limit: must be greater than 0/],
      ['an unknown field', { batch_size: 100, turbo: true }, /property turbo should not exist/],
      ['no setting at all', { reason: 'why not' }, /^the body must set at least one of: batch_size/],
      ['an empty group', { rate_limits: { per_provider: {} } }, /^the body must set at least one of: batch_size/],
      ['a global rate below 1 a minute', { rate_limits: { global: 0.5 } }, /^rate_limits.global: must be at least 1/],
    ];

    it.each(bad)('refuses %s with a 400 naming the field, and changes nothing', async (_name, body, expected) => {
      const before = await changeCount();
      const settings = (await viewer('GET', '/admin/dispatch/settings')).body;
      const answer = await sre('PATCH', '/admin/dispatch/settings', body);
      expect(answer.status).toBe(400);
      expect(messages(answer).join('\n')).toMatch(expected);
      expect((await viewer('GET', '/admin/dispatch/settings')).body).toEqual(settings);
      expect(await changeCount()).toBe(before);
    });

    it('accepts null to remove a limit', async () => {
      const answer = await sre('PATCH', '/admin/dispatch/settings', { room_pressure_limit: null, rate_limits: { global: 250_000 } });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ room_pressure_limit: null, rate_limits: { global: 250_000 } });
      const restored = await sre('PATCH', '/admin/dispatch/settings', { room_pressure_limit: 1, rate_limits: { global: null } });
      expect(restored.body).toMatchObject({ room_pressure_limit: 1, rate_limits: { global: null } });
    });

    it('pages the change log newest first', async () => {
      const all = (await viewer('GET', '/admin/dispatch/changes?scope=dispatch')).body.items as Json[];
      expect(all.length).toBe(3);
      const first = await viewer('GET', '/admin/dispatch/changes?scope=dispatch&limit=2');
      expect((first.body.items as Json[]).map((c) => c.id as string)).toEqual(all.slice(0, 2).map((c) => c.id as string));
      const second = await viewer('GET', `/admin/dispatch/changes?scope=dispatch&limit=2&cursor=${first.body.next_cursor}`);
      expect((second.body.items as Json[]).map((c) => c.id as string)).toEqual([all[2]!.id as string]);
      expect(second.body.next_cursor).toBeNull();
      expect(all[0]!.new.room_pressure_limit).toBe(1);
      expect(all[1]!.new.room_pressure_limit).toBeNull();
      expect((await viewer('GET', '/admin/dispatch/changes?cursor=abc')).status).toBe(400);
      expect((await viewer('GET', '/admin/dispatch/changes?limit=0')).status).toBe(400);
    });
  });

  describe('defaults for new campaigns', () => {
    it('gives a campaign created without a wave plan the settings in force, and keeps them when the settings change', async () => {
      const created = await marketer('POST', '/admin/campaigns', campaignBody());
      expect(created.status).toBe(201);
      const pacing = { max_wait_seconds: null, pacing: true };
      expect(created.body.wave_plan).toEqual({ batch_size: 200, wave_size: 4000, interval_seconds: 30, rate_limits: null, ...pacing });
      const partial = await marketer('POST', '/admin/campaigns', { ...campaignBody(), wave_plan: { interval_seconds: 5 } });
      expect(partial.body.wave_plan).toEqual({ batch_size: 200, wave_size: 4000, interval_seconds: 5, rate_limits: null, ...pacing });

      expect((await sre('PATCH', '/admin/dispatch/settings', { wave_size: 6000 })).status).toBe(200);
      expect((await viewer('GET', `/admin/campaigns/${created.body.id}`)).body.wave_plan.wave_size).toBe(4000);
      expect((await marketer('POST', '/admin/campaigns', campaignBody())).body.wave_plan.wave_size).toBe(6000);
      const bad = await marketer('POST', '/admin/campaigns', { ...campaignBody(), wave_plan: { batch_size: 0 } });
      expect(bad.status).toBe(400);
      expect(messages(bad)).toEqual(['wave_plan.batch_size: must be between 1 and 500']);
      expect((await sre('PATCH', '/admin/dispatch/settings', { wave_size: 4000 })).status).toBe(200);
    });
  });

  describe("a campaign's rate and wave size", () => {
    it('changes a running campaign at once, logged under its scope; the same values again are not logged', async () => {
      const id = await campaignIn('running');
      expect((await marketer('PATCH', `/admin/campaigns/${id}/dispatch`, { rate_per_minute: 10 })).status).toBe(403);
      const answer = await sre('PATCH', `/admin/campaigns/${id}/dispatch`, { rate_per_minute: 5000, wave_size: 1000, reason: 'gentler' });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        id,
        status: 'running',
        wave_plan: { batch_size: 200, wave_size: 1000, rate_limits: { campaign: 5000 } },
      });
      const row = await prisma.campaign.findUniqueOrThrow({ where: { id } });
      expect(row.wavePlan).toEqual({
        batchSize: 200,
        waveSize: 1000,
        intervalSeconds: 30,
        rateLimits: { campaignPerMinute: 5000 },
        maxWaitSeconds: null,
        pacing: true,
      });

      const log = await viewer('GET', `/admin/dispatch/changes?scope=campaign:${id}`);
      expect(log.body.items).toEqual([
        expect.objectContaining({
          scope: `campaign:${id}`,
          actor: 'sre-key',
          reason: 'gentler',
          old: { wave_size: 4000, rate_per_minute: null },
          new: { wave_size: 1000, rate_per_minute: 5000 },
        }),
      ]);
      // Removing the rate, on a paused campaign.
      await prisma.campaign.update({ where: { id }, data: { status: 'paused' } });
      const unlimited = await sre('PATCH', `/admin/campaigns/${id}/dispatch`, { rate_per_minute: null });
      expect(unlimited.status).toBe(200);
      expect(unlimited.body.wave_plan.rate_limits).toBeNull();
      const before = await changeCount();
      expect((await sre('PATCH', `/admin/campaigns/${id}/dispatch`, { wave_size: 1000 })).status).toBe(200);
      expect(await changeCount()).toBe(before);
    });

    it('refuses drafts and finished campaigns (409), unknown ones (404) and bad values (400)', async () => {
      const draft = await campaignIn('draft');
      const conflict = await sre('PATCH', `/admin/campaigns/${draft}/dispatch`, { rate_per_minute: 100 });
      expect(conflict.status).toBe(409);
      expect(messages(conflict).join()).toMatch(/draft/);
      expect((await sre('PATCH', `/admin/campaigns/${await campaignIn('completed')}/dispatch`, { wave_size: 500 })).status).toBe(409);
      expect((await sre('PATCH', '/admin/campaigns/00000000-0000-4000-8000-000000000000/dispatch', { wave_size: 500 })).status).toBe(404);
      expect((await sre('PATCH', '/admin/campaigns/not-a-uuid/dispatch', { wave_size: 500 })).status).toBe(400);

      const running = await campaignIn('scheduled');
      const before = await changeCount();
      for (const [body, expected] of [
        [{ wave_size: 100 }, /^wave_size: must be at least the batch size \(200\)/],
        [{ wave_size: 0 }, /^wave_size: must be at least 1/],
        [{ rate_per_minute: 0 }, /^rate_per_minute: must be at least 1 message per minute/],
        [{ rate_per_minute: 'fast' }, /^rate_per_minute must be a number/],
        [{ batch_size: 10 }, /property batch_size should not exist/],
        [{}, /^the body must set at least one of: rate_per_minute, wave_size/],
      ] as const) {
        const answer = await sre('PATCH', `/admin/campaigns/${running}/dispatch`, body);
        expect(answer.status).toBe(400);
        expect(messages(answer).join('\n')).toMatch(expected);
      }
      expect(await changeCount()).toBe(before);
    });
  });

  describe('opens and live stats', () => {
    let id: string;
    const statsKey = () => redis.keys.campaign(id).stats;
    const open = (body: Json, role: Role = 'marketer') => call('POST', `/admin/campaigns/${id}/opens`, { role, body });

    beforeAll(async () => {
      id = await campaignIn('running');
      // What the sending workers would have written: one wave of 4, 3 sent through FCM, 1 failed.
      await redis.client.hset(statsKey(), {
        targeted: 4,
        sent: 3,
        failed: 1,
        'sent:fcm': 3,
        'w1:targeted': 4,
        'w1:sent': 3,
        'w1:failed': 1,
        waves: 1,
        last_wave: 1,
        settled: 4,
        recent_total: 4,
      });
      await prisma.campaignWave.create({
        data: {
          campaignId: id,
          wave: 1,
          afterId: 0n,
          lastId: 10n,
          size: 4,
          batches: 1,
          dueAt: new Date('2026-01-01T01:00:00Z'),
          startNote: 'scheduled',
        },
      });
    });

    it('counts each user once, whichever device reports the open', async () => {
      expect(await open({ user_id: 'u1' })).toEqual({ status: 202, body: { counted: true } });
      expect(await open({ user_id: 'u1' })).toEqual({ status: 202, body: { counted: false } });
      expect((await open({ user_id: 'u1', device_id: device.u1b })).body).toEqual({ counted: false });
      expect((await open({ device_id: device.u1a })).body).toEqual({ counted: false });
      expect((await open({ device_id: device.anonymous }, 'sre')).body).toEqual({ counted: true });
      expect((await open({ device_id: device.anonymous })).body).toEqual({ counted: false });
      expect(await redis.client.hget(statsKey(), 'opened')).toBe('2');
      expect(await prisma.campaignOpen.count({ where: { campaignId: id } })).toBe(2);
    });

    it('refuses bad reports', async () => {
      for (const [body, expected] of [
        [{}, /^the body must set user_id, device_id, or both/],
        [{ device_id: '999999' }, /^device_id: no device with id "999999"/],
        [{ device_id: 'abc' }, /^device_id must be a device id/],
        [{ device_id: 42 }, /^device_id must be a string/m],
        [{ user_id: '' }, /^user_id should not be empty/],
        [{ user_id: 'u2', device_id: device.u1a }, /^device_id: device \d+ does not belong to user "u2"/],
        [{ user_id: 'u1', campaign: 'x' }, /property campaign should not exist/],
        // Values PostgreSQL itself refuses: past bigint, a NUL byte in text. A 400, never a 500.
        [{ device_id: '9999999999999999999' }, /^device_id: no device with id "9999999999999999999"/],
        [{ user_id: 'u\u0000x' }, /not valid: invalid byte sequence/],
      ] as const) {
        const answer = await open(body);
        expect(answer.status).toBe(400);
        expect(messages(answer).join('\n')).toMatch(expected);
      }
      expect((await open({ user_id: 'u1' }, 'viewer')).status).toBe(403);
      expect(
        (await call('POST', '/admin/campaigns/00000000-0000-4000-8000-000000000000/opens', { role: 'marketer', body: { user_id: 'u1' } }))
          .status,
      ).toBe(404);
      for (const status of ['draft', 'scheduled'] as const) {
        const answer = await call('POST', `/admin/campaigns/${await campaignIn(status)}/opens`, {
          role: 'marketer',
          body: { user_id: 'u1' },
        });
        expect(answer.status).toBe(409);
      }
      expect(await redis.client.hget(statsKey(), 'opened')).toBe('2');
    });

    it('shows live counters from Redis, merged with the waves’ rows', async () => {
      const stats = await viewer('GET', `/admin/campaigns/${id}/stats`);
      expect(stats.status).toBe(200);
      expect(stats.body).toEqual({
        campaign_id: id,
        status: 'running',
        status_reason: 'created by marketer-key',
        activity: null,
        database: 'available',
        source: 'redis',
        targeted: 4,
        sent: 3,
        failed: 1,
        invalid: 0,
        skipped: 0,
        inactive: 0,
        opened: 2,
        by_provider: { fcm: 3, apns: 0, webpush: 0 },
        waves_planned: 1,
        final_wave: 1,
        flushed_at: null,
        funnel: expect.objectContaining({ sent: 3, opened: 0, queued: 0, admitted: 0 }),
        waves: [
          {
            wave: 1,
            targeted: 4,
            sent: 3,
            failed: 1,
            invalid: 0,
            skipped: 0,
            inactive: 0,
            size: 4,
            due_at: '2026-01-01T01:00:00.000Z',
            started_at: expect.any(String),
            finished_at: null,
            start_note: 'scheduled',
          },
        ],
      });
      const campaign = await viewer('GET', `/admin/campaigns/${id}`);
      expect(campaign.body.stats).toEqual({
        targeted: 4,
        sent: 3,
        failed: 1,
        invalid: 0,
        skipped: 0,
        inactive: 0,
        opened: 2,
        source: 'redis',
      });
      // Lists stay cheap: no stats.
      const list = await viewer('GET', '/admin/campaigns?status=running');
      expect((list.body.items as Json[]).find((c) => c.id === id)).not.toHaveProperty('stats');
    });

    it('falls back to the counters flushed to PostgreSQL when Redis has lost them', async () => {
      await redis.client.del(statsKey());
      await prisma.campaignStats.create({
        data: { campaignId: id, targeted: 4, sent: 3, failed: 1, opened: 2, byProvider: { fcm: 3 }, waves: 1 },
      });
      await prisma.campaignWave.update({
        where: { campaignId_wave: { campaignId: id, wave: 1 } },
        data: { targeted: 4, sent: 3, failed: 1 },
      });

      const stats = await viewer('GET', `/admin/campaigns/${id}/stats`);
      expect(stats.status).toBe(200);
      expect(stats.body).toMatchObject({
        source: 'postgres',
        targeted: 4,
        sent: 3,
        failed: 1,
        opened: 2,
        by_provider: { fcm: 3, apns: 0, webpush: 0 },
        waves_planned: 1,
        final_wave: null,
        flushed_at: expect.any(String),
        waves: [{ wave: 1, targeted: 4, sent: 3, failed: 1, size: 4, start_note: 'scheduled' }],
      });
      expect((await viewer('GET', `/admin/campaigns/${id}`)).body.stats).toMatchObject({ opened: 2, sent: 3, source: 'postgres' });

      // An open while the hash is gone is recorded in PostgreSQL, and does not re-create a partial hash in Redis.
      expect((await open({ user_id: 'u2' })).body).toEqual({ counted: true });
      expect(await redis.client.exists(statsKey())).toBe(0);
      expect(await prisma.campaignOpen.count({ where: { campaignId: id } })).toBe(3);
    });

    it('shows zeros for a campaign that has sent nothing', async () => {
      const draft = await campaignIn('draft');
      const stats = await viewer('GET', `/admin/campaigns/${draft}/stats`);
      expect(stats.body).toMatchObject({ source: 'none', sent: 0, opened: 0, waves: [], waves_planned: 0, final_wave: null });
      expect((await viewer('GET', '/admin/campaigns/00000000-0000-4000-8000-000000000000/stats')).status).toBe(404);
    });
  });
});
