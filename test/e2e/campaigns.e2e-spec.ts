/** Campaigns over the admin API against a booted scheduler (real PostgreSQL and Redis): CRUD, lifecycle, validation, previews. */
import type { Role } from '@tidegate/contracts';
import { DeviceRepository, PrismaService, RoomRepository, type DeviceData } from '@tidegate/database';
import { adminClient, type AdminAnswer } from '../support/admin-api';
import { startScheduler, type RunningApp } from '../support/apps';
import { createRoleKeys } from '../support/keys';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestRedis, type TestRedis } from '../support/redis';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return,
   @typescript-eslint/no-unsafe-assignment -- the tests build, mutate and read free-form JSON bodies (bad ones on purpose) */
type Json = Record<string, any>;
type Answer = AdminAnswer<Json>;

const DAY_MS = 86_400_000;
/** Tomorrow (UTC) at hh:mm:00Z. */
const tomorrowAt = (hh: number, mm: number) => {
  const d = new Date(Date.now() + DAY_MS);
  d.setUTCHours(hh, mm, 0, 0);
  return d;
};

const validBody = (): Json => ({
  name: 'Spring sale',
  message: {
    title: 'Spring sale',
    body: 'Everything -30% until midnight',
    data: { sku: '42' },
    deep_link: 'shop://sale',
    image: 'https://cdn.example.com/sale.png',
    overrides: {
      apns: { sound: 'default', badge: 1 },
      webpush: { icon: 'https://cdn.example.com/icon.png' },
      fcm: { channel_id: 'sales' },
    },
  },
  audience: { segment: { tagsAll: ['spring'] } },
  schedule: {
    start_at: tomorrowAt(5, 58).toISOString().replace('Z', '+00:00'),
    send_window: { start: '01:00', end: '06:00', timezone: 'UTC' },
    quiet_hours: { start: '21:00', end: '23:00' },
  },
  wave_plan: { batch_size: 100, wave_size: 500, interval_seconds: 60, rate_limits: { campaign: 1000, per_provider: { fcm: 600_000 } } },
  room_id: 'spring-sale',
});

describe('admin API: campaigns', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let prisma: PrismaService;
  const keys: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    prisma = scheduler.app.get(PrismaService);
    Object.assign(keys, await createRoleKeys(scheduler.app));
    await scheduler.app.get(RoomRepository).create({ id: 'spring-sale', name: 'Spring sale', originUrl: 'https://shop.example.com' });
    // The audience: 1,200 devices tagged spring (600 fcm, 400 apns, 200 webpush) and 100 others.
    const devices: DeviceData[] = [];
    const device = (i: number, platform: DeviceData['platform'], tags: string[]): DeviceData => ({
      platform,
      token: platform === 'apns' ? i.toString(16).padStart(64, '0') : `token-${platform}-${i}`,
      p256dh: null,
      auth: null,
      userId: null,
      timezone: 'Europe/Paris',
      locale: 'fr-FR',
      tags,
      appVersion: null,
    });
    for (let i = 0; i < 1200; i++) devices.push(device(i, i < 600 ? 'fcm' : i < 1000 ? 'apns' : 'webpush', ['spring']));
    for (let i = 1200; i < 1300; i++) devices.push(device(i, 'fcm', ['autumn']));
    await scheduler.app.get(DeviceRepository).upsertMany(devices);
  });

  afterAll(async () => {
    await scheduler?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const { call, as } = adminClient(() => scheduler.url, keys);
  const marketer = as('marketer');
  const viewer = as('viewer');
  const messages = (answer: Answer) => [answer.body.message ?? []].flat() as string[];
  const campaignCount = () => prisma.campaign.count();
  const listAll = async () => {
    const items: Json[] = [];
    let cursor: string | null = null;
    do {
      const page: Answer = await viewer('GET', `/admin/campaigns?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      items.push(...(page.body.items as Json[]));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    return items;
  };

  describe('roles', () => {
    it('answers 401 without a key and 403 to a viewer on every write', async () => {
      expect((await call('GET', '/admin/campaigns')).status).toBe(401);
      expect((await call('POST', '/admin/campaigns', { body: validBody() })).status).toBe(401);
      expect((await call('POST', '/admin/campaigns/preview', { body: validBody() })).status).toBe(401);
      expect((await viewer('POST', '/admin/campaigns', validBody())).status).toBe(403);
      const id = '00000000-0000-4000-8000-000000000000';
      for (const path of [`/admin/campaigns/${id}/clone`, `/admin/campaigns/${id}/schedule`, `/admin/campaigns/${id}/cancel`]) {
        expect((await viewer('POST', path)).status).toBe(403);
      }
      expect((await viewer('PATCH', `/admin/campaigns/${id}`, { name: 'x' })).status).toBe(403);
      expect((await viewer('GET', '/admin/campaigns')).status).toBe(200);
      expect(await campaignCount()).toBe(0);
    });
  });

  describe('create, get, list, patch, clone', () => {
    let id: string;

    it('creates a draft and reads it back in API spelling', async () => {
      const created = await marketer('POST', '/admin/campaigns', validBody());
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'Spring sale',
        status: 'draft',
        created_by: 'marketer-key',
        room_id: 'spring-sale',
        message: { title: 'Spring sale', deep_link: 'shop://sale', image: 'https://cdn.example.com/sale.png', data: { sku: '42' } },
        audience: { segment: { tagsAll: ['spring'], activeOnly: true } },
        schedule: { send_window: { start: '01:00', end: '06:00', timezone: 'UTC' }, quiet_hours: { start: '21:00', end: '23:00' } },
        wave_plan: {
          batch_size: 100,
          wave_size: 500,
          interval_seconds: 60,
          rate_limits: { campaign: 1000, per_provider: { fcm: 600_000 } },
        },
      });
      expect(created.body.message.overrides).toEqual({
        apns: { sound: 'default', badge: 1 },
        webpush: { icon: 'https://cdn.example.com/icon.png' },
        fcm: { channel_id: 'sales' },
      });
      id = created.body.id as string;
      // Stored in the libraries' own spelling, for the workers.
      const row = await prisma.campaign.findUniqueOrThrow({ where: { id } });
      expect(row.message).toMatchObject({ deepLink: 'shop://sale', imageUrl: 'https://cdn.example.com/sale.png' });
      expect(row.wavePlan).toMatchObject({ batchSize: 100, rateLimits: { campaignPerMinute: 1000 } });

      const got = await viewer('GET', `/admin/campaigns/${id}`);
      expect(got.status).toBe(200);
      // One campaign also carries its totals so far (nothing sent for a draft); lists do not.
      expect(got.body).toEqual({
        ...created.body,
        stats: { targeted: 0, sent: 0, failed: 0, invalid: 0, skipped: 0, inactive: 0, opened: 0, source: 'none' },
        activity: null,
      });
      expect((await viewer('GET', '/admin/campaigns/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await viewer('GET', '/admin/campaigns/not-a-uuid')).status).toBe(400);
    });

    it('takes the system defaults for wave-plan fields left out, and stores them resolved', async () => {
      const { wave_plan: _omitted, ...withoutPlan } = validBody();
      const all = await marketer('POST', '/admin/campaigns', { ...withoutPlan, name: 'defaults' });
      expect(all.status).toBe(201);
      // Pacing is on by default and the budget is the room's.
      const pacing = { max_wait_seconds: null, pacing: true };
      expect(all.body.wave_plan).toEqual({ batch_size: 500, wave_size: 50_000, interval_seconds: 60, rate_limits: null, ...pacing });
      const some = await marketer('POST', '/admin/campaigns', { ...withoutPlan, name: 'some', wave_plan: { wave_size: 800 } });
      expect(some.status).toBe(201);
      expect(some.body.wave_plan).toEqual({ batch_size: 500, wave_size: 800, interval_seconds: 60, rate_limits: null, ...pacing });
      const row = await prisma.campaign.findUniqueOrThrow({ where: { id: some.body.id as string } });
      expect(row.wavePlan).toEqual({
        batchSize: 500,
        waveSize: 800,
        intervalSeconds: 60,
        rateLimits: null,
        maxWaitSeconds: null,
        pacing: true,
      });
      const preview = await marketer('POST', '/admin/campaigns/preview', { ...withoutPlan, wave_plan: { batch_size: 100 } });
      expect(preview.status).toBe(200);
      expect(preview.body.plan.batch_count).toBe(12);
      await prisma.campaign.deleteMany({ where: { id: { in: [all.body.id as string, some.body.id as string] } } });
    });

    it('creates a campaign for an inline list of device ids', async () => {
      const created = await marketer('POST', '/admin/campaigns', { ...validBody(), audience: { device_ids: ['1', 2, '3', '3'] } });
      expect(created.status).toBe(201);
      expect(created.body.audience).toEqual({ device_ids: ['1', '2', '3'] });
    });

    it('lists newest first, a page at a time', async () => {
      for (let i = 0; i < 3; i++)
        expect((await marketer('POST', '/admin/campaigns', { ...validBody(), name: `page ${i}` })).status).toBe(201);
      // Pages of 2 walk the whole list once, newest first (created_at, then id, descending).
      const pages: Json[][] = [];
      let cursor: string | null = null;
      do {
        const page: Answer = await viewer('GET', `/admin/campaigns?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        pages.push(page.body.items as Json[]);
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      const walked = pages.flat();
      expect(walked.map((c) => c.name).sort()).toEqual(['Spring sale', 'Spring sale', 'page 0', 'page 1', 'page 2']);
      const times = walked.map((c) => Date.parse(c.created_at as string));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(walked[walked.length - 1]!.name).toBe('Spring sale');
      const all = await listAll();
      expect(all).toHaveLength(5);
      expect(new Set(all.map((c) => c.id)).size).toBe(5);
      expect((await viewer('GET', '/admin/campaigns?status=draft&limit=200')).body.items).toHaveLength(5);
      expect((await viewer('GET', '/admin/campaigns?status=cancelled')).body.items).toHaveLength(0);
      expect((await viewer('GET', '/admin/campaigns?cursor=garbage')).status).toBe(400);
      expect((await viewer('GET', '/admin/campaigns?limit=0')).status).toBe(400);
    });

    it('patches a draft; a bad patch changes nothing', async () => {
      const patched = await marketer('PATCH', `/admin/campaigns/${id}`, {
        name: 'Spring sale v2',
        wave_plan: { batch_size: 200, wave_size: 1000, interval_seconds: 0 },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ name: 'Spring sale v2', wave_plan: { batch_size: 200, wave_size: 1000, rate_limits: null } });
      expect(patched.body.message.title).toBe('Spring sale');

      const bad = await marketer('PATCH', `/admin/campaigns/${id}`, { wave_plan: { batch_size: 200, wave_size: 0, interval_seconds: 0 } });
      expect(bad.status).toBe(400);
      expect(messages(bad).join('\n')).toMatch(/^wave_plan\.wave_size: /m);
      expect((await viewer('GET', `/admin/campaigns/${id}`)).body.wave_plan.wave_size).toBe(1000);
      expect((await marketer('PATCH', `/admin/campaigns/${id}`, {})).status).toBe(400);
      expect((await marketer('PATCH', `/admin/campaigns/${id}`, { status: 'running' })).status).toBe(400);
    });

    it('clones into a new draft named "(copy)"', async () => {
      const copy = await marketer('POST', `/admin/campaigns/${id}/clone`);
      expect(copy.status).toBe(201);
      expect(copy.body).toMatchObject({ name: 'Spring sale v2 (copy)', status: 'draft', room_id: 'spring-sale' });
      expect(copy.body.id).not.toBe(id);
      expect(copy.body.status_reason).toContain(id);
      const original = (await viewer('GET', `/admin/campaigns/${id}`)).body;
      for (const field of ['message', 'audience', 'schedule', 'wave_plan']) expect(copy.body[field]).toEqual(original[field]);
    });
  });

  describe('lifecycle', () => {
    const create = async (body: Json = validBody()) => {
      const answer = await marketer('POST', '/admin/campaigns', body);
      expect(answer.status).toBe(201);
      return answer.body.id as string;
    };

    it('schedules a draft with a start in the future, then cancels it; illegal moves get 409', async () => {
      const id = await create();
      const scheduled = await marketer('POST', `/admin/campaigns/${id}/schedule`);
      expect(scheduled.status).toBe(200);
      expect(scheduled.body).toMatchObject({ status: 'scheduled', status_reason: expect.stringContaining('marketer-key') });
      expect((await marketer('POST', `/admin/campaigns/${id}/schedule`)).status).toBe(409);

      // Still editable while scheduled, but the start must stay in the future.
      expect((await marketer('PATCH', `/admin/campaigns/${id}`, { name: 'renamed' })).status).toBe(200);
      const past = await marketer('PATCH', `/admin/campaigns/${id}`, { schedule: { start_at: '2020-01-01T00:00:00Z' } });
      expect(past.status).toBe(400);
      expect(messages(past).join()).toMatch(/schedule\.start_at: /);

      const cancelled = await marketer('POST', `/admin/campaigns/${id}/cancel`, { reason: 'budget' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ status: 'cancelled', status_reason: 'budget (cancelled by marketer-key)' });
      expect((await marketer('POST', `/admin/campaigns/${id}/cancel`)).status).toBe(409);
      expect((await marketer('POST', `/admin/campaigns/${id}/schedule`)).status).toBe(409);
      const edit = await marketer('PATCH', `/admin/campaigns/${id}`, { name: 'too late' });
      expect(edit.status).toBe(409);
      expect(messages(edit).join()).toMatch(/cancelled/);
      // A cancelled campaign can still be cloned into a new draft.
      expect((await marketer('POST', `/admin/campaigns/${id}/clone`)).body.status).toBe('draft');
    });

    it('cancels a draft directly; running, paused, completed and failed follow the lifecycle', async () => {
      const id = await create();
      expect((await marketer('POST', `/admin/campaigns/${id}/cancel`)).body.status).toBe('cancelled');
      for (const [status, cancel, edit] of [
        ['running', 200, 409],
        ['paused', 200, 409],
        ['completed', 409, 409],
        ['failed', 409, 409],
      ] as const) {
        const other = await create();
        await prisma.campaign.update({ where: { id: other }, data: { status } });
        expect((await marketer('PATCH', `/admin/campaigns/${other}`, { name: 'x' })).status).toBe(edit);
        expect((await marketer('POST', `/admin/campaigns/${other}/schedule`)).status).toBe(409);
        expect((await marketer('POST', `/admin/campaigns/${other}/cancel`)).status).toBe(cancel);
      }
    });

    it('schedules in one call with the start time and window in the body (no PATCH first); bad ones are 400 and write nothing', async () => {
      const body = validBody();
      delete body.schedule.start_at;
      const id = await create(body);
      const startAt = new Date(Date.now() + 3_600_000).toISOString();
      const bad = await marketer('POST', `/admin/campaigns/${id}/schedule`, {
        start_at: 'tomorrow',
        send_window: { start: '07:00', end: '05:00', timezone: 'UTC' },
      });
      expect(bad.status).toBe(400);
      expect(messages(bad).join('\n')).toMatch(/schedule\.start_at: /);
      expect(messages(bad).join('\n')).toMatch(/schedule\.send_window/);
      expect((await viewer('GET', `/admin/campaigns/${id}`)).body).toMatchObject({ status: 'draft', schedule: { start_at: null } });

      const window = { start: '01:00', end: '06:00', timezone: 'Europe/Paris' };
      const scheduled = await marketer('POST', `/admin/campaigns/${id}/schedule`, {
        start_at: startAt,
        send_window: window,
        reason: 'autumn sale',
      });
      expect(scheduled.status).toBe(200);
      expect(scheduled.body).toMatchObject({
        status: 'scheduled',
        status_reason: 'autumn sale',
        schedule: { start_at: startAt, send_window: window },
      });
      // The quiet hours of the stored schedule are kept.
      expect(scheduled.body.schedule.quiet_hours).toEqual(validBody().schedule.quiet_hours);
      expect((await marketer('POST', `/admin/campaigns/${id}/schedule`, { start_at: startAt })).status).toBe(409);
    });

    it('keeps a timeline of every change: who, why, from and to, oldest first, paged', async () => {
      const id = await create();
      await marketer('POST', `/admin/campaigns/${id}/schedule`, { reason: 'plan' });
      await marketer('POST', `/admin/campaigns/${id}/cancel`, { reason: 'budget' });
      const page1 = await viewer('GET', `/admin/campaigns/${id}/timeline?limit=1`);
      expect(page1.status).toBe(200);
      expect(page1.body.items).toEqual([
        expect.objectContaining({ kind: 'schedule', from_status: 'draft', to_status: 'scheduled', actor: 'marketer-key', reason: 'plan' }),
      ]);
      const page2 = await viewer('GET', `/admin/campaigns/${id}/timeline?after=${page1.body.next_after}`);
      expect(page2.body).toEqual({
        items: [
          expect.objectContaining({
            kind: 'cancel',
            from_status: 'scheduled',
            to_status: 'cancelled',
            actor: 'marketer-key',
            reason: 'budget (cancelled by marketer-key)',
            at: expect.any(String),
          }),
        ],
        next_after: null,
      });
      expect((await viewer('GET', `/admin/campaigns/${id}/timeline?after=x`)).status).toBe(400);
      expect((await viewer('GET', `/admin/campaigns/${id}/timeline?limit=0`)).status).toBe(400);
      expect((await viewer('GET', '/admin/campaigns/00000000-0000-4000-8000-000000000000/timeline')).status).toBe(404);
    });

    it('refuses to schedule without a start time, or with one that has passed', async () => {
      const body = validBody();
      delete body.schedule.start_at;
      const id = await create(body);
      const answer = await marketer('POST', `/admin/campaigns/${id}/schedule`);
      expect(answer.status).toBe(400);
      expect(messages(answer)).toEqual([expect.stringMatching(/^schedule\.start_at: is required/)]);
      expect((await viewer('GET', `/admin/campaigns/${id}`)).body.status).toBe('draft');
      expect((await marketer('POST', '/admin/campaigns/00000000-0000-4000-8000-000000000000/schedule')).status).toBe(404);
    });
  });

  describe('invalid bodies: 400 naming the field, nothing created', () => {
    const big = 'x'.repeat(5000);
    const cases: Array<[string, (b: Json) => void, RegExp[]]> = [
      ['an empty body', (b) => Object.keys(b).forEach((k) => delete b[k]), [/^name /m, /^message /m, /^audience /m]],
      ['a missing title', (b) => delete b.message.title, [/^message\.title /m]],
      ['a data value that is not a string', (b) => (b.message.data = { n: 1 }), [/^message\.data\.n: must be a string/m]],
      [
        'an oversized payload for APNs',
        (b) => {
          b.message.data = { blob: big };
          b.audience.segment.platforms = ['apns'];
        },
        [/^message: the apns payload is \d+ bytes, over the limit of 3882$/m],
      ],
      [
        'an oversized payload for every provider',
        (b) => (b.message.data = { blob: big }),
        [/^message: the fcm payload .* 3882$/m, /^message: the apns payload .* 3882$/m, /^message: the webpush payload .* 3779$/m],
      ],
      ['an unknown segment field', (b) => (b.audience.segment.country = 'fr'), [/^audience\.segment\.country is not a segment field/m]],
      ['a bad segment value', (b) => (b.audience.segment.platforms = ['sms']), [/^audience\.segment\.platforms\[0\]/m]],
      ['both segment and device_ids', (b) => (b.audience.device_ids = ['1']), [/^audience: must have exactly one/m]],
      ['an unknown audience field', (b) => (b.audience = { users: ['u1'] }), [/^audience\.users: /m]],
      ['a device id that is not digits', (b) => (b.audience = { device_ids: ['1', 'abc'] }), [/^audience\.device_ids\[1\]: /m]],
      [
        'a window ending before it starts',
        (b) => (b.schedule.send_window = { start: '06:00', end: '01:00', timezone: 'UTC' }),
        [/^schedule\.send_window\.end: must be after start/m],
      ],
      ['an unknown window time zone', (b) => (b.schedule.send_window.timezone = 'Mars/Olympus'), [/^schedule\.send_window\.timezone: /m]],
      ['empty quiet hours', (b) => (b.schedule.quiet_hours = { start: '22:00', end: '22:00' }), [/^schedule\.quiet_hours\.end: /m]],
      ['wave size 0', (b) => (b.wave_plan.wave_size = 0), [/^wave_plan\.wave_size: must be at least 1/m]],
      ['batch size 501', (b) => (b.wave_plan.batch_size = 501), [/^wave_plan\.batch_size: must be between 1 and 500/m]],
      ['batch size 0', (b) => (b.wave_plan.batch_size = 0), [/^wave_plan\.batch_size: must be between 1 and 500/m]],
      ['a null batch size', (b) => (b.wave_plan.batch_size = null), [/^wave_plan\.batch_size must be a number/m]],
      ['a negative interval', (b) => (b.wave_plan.interval_seconds = -1), [/^wave_plan\.interval_seconds: /m]],
      [
        'negative rates',
        (b) => (b.wave_plan.rate_limits = { global: 0, campaign: -5, per_provider: { fcm: -1 } }),
        [
          /^wave_plan\.rate_limits\.global: must be at least 1 message per minute/m,
          /^wave_plan\.rate_limits\.campaign: /m,
          /^wave_plan\.rate_limits\.per_provider\.fcm: /m,
        ],
      ],
      ['an unknown provider', (b) => (b.wave_plan.rate_limits.per_provider = { sms: 10 }), [/per_provider\.property sms should not exist/]],
      ['a wave size given as text', (b) => (b.wave_plan.wave_size = '500'), [/^wave_plan\.wave_size must be a number/m]],
      ['a start_at that is not a date', (b) => (b.schedule.start_at = 'tomorrow'), [/^schedule\.start_at: must be an ISO 8601/m]],
      ['a start_at without an offset', (b) => (b.schedule.start_at = '2030-01-01T01:00:00'), [/^schedule\.start_at: /m]],
      ['a start_at in the past', (b) => (b.schedule.start_at = '2020-01-01T00:00:00Z'), [/^schedule\.start_at: .* is in the past/m]],
      ['an unknown room', (b) => (b.room_id = 'no-such-room'), [/^room_id: no room with id "no-such-room"$/m]],
      ['an unknown field', (b) => (b.priority = 'high'), [/property priority should not exist/]],
    ];

    it.each(cases)('%s', async (_name, mutate, expected) => {
      const before = await campaignCount();
      const body = validBody();
      mutate(body);
      const answer = await marketer('POST', '/admin/campaigns', body);
      expect(answer.status).toBe(400);
      const text = messages(answer).join('\n');
      for (const pattern of expected) expect(text).toMatch(pattern);
      expect(await campaignCount()).toBe(before);
      expect(await listAll()).toHaveLength(before);
      // The unsaved preview refuses the same body the same way.
      const preview = await marketer('POST', '/admin/campaigns/preview', body);
      expect(preview.status).toBe(400);
    });

    it('lists every problem of a body at once, structured too', async () => {
      const body = validBody();
      body.wave_plan.wave_size = 0;
      body.schedule.send_window.end = '00:30';
      body.room_id = 'nope';
      const answer = await marketer('POST', '/admin/campaigns', body);
      expect(answer.status).toBe(400);
      expect((answer.body.errors as Json[]).map((e) => e.field).sort()).toEqual([
        'room_id',
        'schedule.send_window.end',
        'wave_plan.wave_size',
      ]);
    });
  });

  describe('preview', () => {
    const expectPlan = (answer: Answer) => {
      expect(answer.status).toBe(200);
      const { audience, plan } = answer.body;
      expect(audience).toEqual({ size: 1200, exact: true, method: 'count', platform_mix: { fcm: 600, apns: 400, webpush: 200 } });
      expect(plan.rate_per_minute).toBe(1000);
      expect(plan.rate_limited_by).toBe('campaign');
      const waves = plan.waves as Json[];
      expect(waves.map((w) => w.size)).toEqual([500, 500, 200]);
      expect(waves.reduce((sum, w) => sum + (w.size as number), 0)).toBe(audience.size);
      expect(waves.map((w) => w.batches)).toEqual([5, 5, 2]);
      expect(plan.batch_count).toBe(12);
      // Every stretch of sending lies inside the 01:00-06:00 UTC window.
      for (const wave of waves) {
        for (const segment of wave.segments as Json[]) {
          const from = new Date(segment.from as string);
          const to = new Date(segment.to as string);
          const opens = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate(), 1);
          expect(from.getTime()).toBeGreaterThanOrEqual(opens);
          expect(to.getTime()).toBeLessThanOrEqual(opens + 5 * 3_600_000);
        }
      }
      const start = tomorrowAt(5, 58).getTime();
      expect(waves.map((w) => [new Date(w.starts_at as string).getTime(), w.start_reason])).toEqual([
        [start, 'scheduled'],
        [start + 60_000, 'interval'],
        [tomorrowAt(1, 0).getTime() + DAY_MS, 'window'],
      ]);
      expect(new Date(plan.finishes_at as string).getTime()).toBe(tomorrowAt(1, 0).getTime() + DAY_MS + 12_000);
    };

    it('plans an unsaved body over the segment estimate, in the window, without creating anything', async () => {
      const before = await campaignCount();
      expectPlan(await marketer('POST', '/admin/campaigns/preview', { ...validBody(), name: undefined }));
      expect(await campaignCount()).toBe(before);
    });

    it('plans a saved campaign (viewers may preview)', async () => {
      const created = await marketer('POST', '/admin/campaigns', validBody());
      const answer = await viewer('POST', `/admin/campaigns/${created.body.id}/preview`);
      expectPlan(answer);
      expect(answer.body.warnings).toEqual([]);
    });

    it('sizes an inline list by its length, and warns when the window lies inside the quiet hours', async () => {
      const body = validBody();
      body.audience = { device_ids: ['1', '2', '3'] };
      body.schedule.quiet_hours = { start: '00:00', end: '07:00' };
      const answer = await marketer('POST', '/admin/campaigns/preview', body);
      expect(answer.status).toBe(200);
      expect(answer.body.audience).toEqual({ size: 3, exact: true, method: 'list' });
      expect(answer.body.plan.waves).toHaveLength(1);
      expect(answer.body.warnings).toEqual([expect.stringMatching(/never be sent to/)]);
    });
  });
});
