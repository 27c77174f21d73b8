/**
 * The forecast before sending (issue 10): a marketer asks what the surge of a planned campaign will look like in its
 * room, and which plan keeps it within the wait budget. Real scheduler API, PostgreSQL and Redis.
 */
import { DeviceRepository, PrismaService, RoomRepository, type Role } from '@tidegate/database';
import { startScheduler, type RunningApp } from '../support/apps';
import { adminClient } from '../support/admin-api';
import { funnelBucketOf } from '@tidegate/domain';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { createTestRedis, type TestRedis } from '../support/redis';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access */
type Json = Record<string, any>;

describe('admin API: the surge forecast', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  const keys: Partial<Record<Role, string>> = {};
  const { as } = adminClient(() => scheduler.url, keys);
  const marketer = as('marketer');
  const viewer = as('viewer');

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    Object.assign(keys, await createRoleKeys(scheduler.app));
    // A small shop: 200 places, 600 new users a minute, 2-minute sessions, a 5-minute budget.
    await scheduler.app.get(RoomRepository).create({
      id: 'shop',
      name: 'Shop',
      originUrl: 'https://shop.example.com',
      totalActiveUsers: 200,
      newUsersPerMinute: 600,
      sessionDurationSeconds: 120,
      maxWaitSeconds: 300,
    });
    const devices = Array.from({ length: 20_000 }, (_, i) => ({
      platform: 'fcm' as const,
      token: `token-${i}`,
      p256dh: null,
      auth: null,
      userId: null,
      timezone: 'UTC',
      locale: null,
      tags: ['sale'],
      appVersion: null,
    }));
    await scheduler.app.get(DeviceRepository).upsertMany(devices);
  });

  afterAll(async () => {
    await scheduler?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  async function create(body: Json = {}): Promise<string> {
    const created = await marketer('POST', '/admin/campaigns', {
      name: 'Flash sale',
      message: { title: 'Sale', body: 'Now on' },
      audience: { segment: { tagsAll: ['sale'] } },
      wave_plan: { batch_size: 500, wave_size: 20_000, interval_seconds: 0 },
      room_id: 'shop',
      ...body,
    });
    expect(created.status).toBe(201);
    return created.body.id as string;
  }

  it('shows a burst breaking the budget, with the curves, and recommends a plan that keeps it', async () => {
    const id = await create();
    const answer = await viewer('GET', `/admin/campaigns/${id}/forecast`);
    expect(answer.status).toBe(200);
    const f = answer.body as Json;
    expect(f).toMatchObject({
      audience: 20_000,
      budget_seconds: 300,
      open_model: { open_rate: 0.1, median_delay_seconds: 30, sigma: 1, source: 'settings' },
      room: { room_id: 'shop', total_active_users: 200, steady_admits_per_minute: 100 },
    });
    // 2,000 visitors, most within a few minutes, through a room that takes 100 a minute once full: far over 5 minutes.
    expect(f.planned.within_budget).toBe(false);
    expect(f.planned.wait_max_seconds).toBeGreaterThan(300);
    expect(f.planned.peak_queue).toBeGreaterThan(1000);
    expect(f.planned.peak_active).toBeLessThanOrEqual(200);
    expect(f.planned.curve.length).toBeGreaterThan(10);
    expect(Object.keys(f.planned.curve[0] as Json).sort()).toEqual([
      'active',
      'admitted_per_minute',
      'arrivals_per_minute',
      'at_seconds',
      'queue',
    ]);
    expect((f.planned.curve as Json[]).reduce((sum, p) => sum + (p.arrivals_per_minute as number), 0)).toBeGreaterThan(1900);
    // Paced (the default), the controller shapes the same campaign: a far shorter line and waits, sending for longer.
    expect(f.paced.wait_max_seconds).toBeLessThan((f.planned.wait_max_seconds as number) / 2);
    expect(f.paced.peak_queue).toBeLessThan((f.planned.peak_queue as number) / 2);
    expect(f.paced.sending_ends_at_seconds).toBeGreaterThan(f.planned.sending_ends_at_seconds as number);
    expect(f.recommendation.feasible).toBe(true);
    expect(f.recommendation.forecast.within_budget).toBe(true);
    expect(f.recommendation.forecast.wait_max_seconds).toBeLessThanOrEqual(270);
    expect(f.recommendation.wave_size).toBeLessThan(20_000);
    expect(f.recommendation.reason).toMatch(/^waves of \d+ every \d+ s keep the predicted max wait/);
    // No traffic measured in the room yet: no quietest window to suggest.
    expect(f.quietest_window).toBeNull();
  });

  it("learns the open model from the room's past campaigns once there are some", async () => {
    // A completed campaign of the same room: 1,000 sent, 300 opened, every tap 8 to 11 s after its push.
    const prisma = scheduler.app.get(PrismaService);
    const past = await create();
    await prisma.campaign.update({ where: { id: past }, data: { status: 'completed' } });
    await prisma.campaignStats.create({ data: { campaignId: past, targeted: 1000, sent: 1000 } });
    const buckets = new Array<number>(40).fill(0);
    buckets[funnelBucketOf(9500)] = 300;
    await prisma.campaignFunnel.create({ data: { campaignId: past, opened: 300, queued: 300, admitted: 300, openDelayBuckets: buckets } });

    const id = await create();
    const f = (await viewer('GET', `/admin/campaigns/${id}/forecast`)).body as Json;
    expect(f.open_model).toMatchObject({ source: 'room_history', open_rate: 0.3, samples: 300 });
    expect(f.open_model.median_delay_seconds).toBeGreaterThan(8);
    expect(f.open_model.median_delay_seconds).toBeLessThan(12);
    // The query still wins, field by field.
    const given = (await viewer('GET', `/admin/campaigns/${id}/forecast?open_rate=0.05`)).body as Json;
    expect(given.open_model).toMatchObject({ source: 'request', open_rate: 0.05 });
    await prisma.campaign.delete({ where: { id: past } });
  });

  it("suggests the quietest send window from the room's measured traffic", async () => {
    // A week of measured traffic: busy (190 of 200 places) except Tuesday 02:00-06:00 UTC (20 active).
    const prisma = scheduler.app.get(PrismaService);
    const tuesday = 24;
    await prisma.roomTraffic.createMany({
      data: Array.from({ length: 168 }, (_, hour) => {
        const quiet = hour >= tuesday + 2 && hour < tuesday + 6;
        return { roomId: 'shop', hourOfWeek: hour, arrivals: 3600n, activeSum: BigInt((quiet ? 20 : 190) * 3600), samples: 3600n };
      }),
    });
    const id = await create();
    const f = (await viewer('GET', `/admin/campaigns/${id}/forecast`)).body as Json;
    expect(f.quietest_window).toMatchObject({ time_zone: 'UTC', mean_spare_places: 180 });
    expect(f.quietest_window.start).toMatch(/^tuesday 0[2-5]:00$/);
    await prisma.roomTraffic.deleteMany({ where: { roomId: 'shop' } });
  });

  it('uses the open model given in the query, and says no plan can meet a budget when none can', async () => {
    const id = await create({ wave_plan: { batch_size: 500, wave_size: 500, interval_seconds: 60, max_wait_seconds: 10 } });
    const answer = await viewer('GET', `/admin/campaigns/${id}/forecast?open_rate=1&median_delay_seconds=5&sigma=0.5`);
    expect(answer.status).toBe(200);
    expect(answer.body.open_model).toMatchObject({ open_rate: 1, median_delay_seconds: 5, sigma: 0.5, source: 'request' });
    expect(answer.body.budget_seconds).toBe(10);
    expect(answer.body.recommendation).toMatchObject({ feasible: false });
    expect(answer.body.recommendation.reason).toMatch(/^no plan keeps the max wait within 10 s/);
  });

  it('refuses what it cannot forecast: no room (409), a bad query (400), an unknown campaign (404)', async () => {
    const lonely = await create({ room_id: null });
    const noRoom = await viewer('GET', `/admin/campaigns/${lonely}/forecast`);
    expect(noRoom.status).toBe(409);
    expect(noRoom.body.message).toMatch(/has no room/);
    const id = await create();
    const bad = await viewer('GET', `/admin/campaigns/${id}/forecast?open_rate=2&sigma=x`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.message)).toMatch(/open_rate/);
    expect((await viewer('GET', '/admin/campaigns/00000000-0000-4000-8000-000000000000/forecast')).status).toBe(404);
  });

  it("bounds a campaign's wait budget by its room's", async () => {
    const over = await marketer('POST', '/admin/campaigns', {
      name: 'Too patient',
      message: { title: 'Sale', body: 'Now on' },
      audience: { segment: { tagsAll: ['sale'] } },
      wave_plan: { max_wait_seconds: 301 },
      room_id: 'shop',
    });
    expect(over.status).toBe(400);
    expect(JSON.stringify(over.body.message)).toMatch(/wave_plan\.max_wait_seconds: 301 is above the max wait of room shop \(300 s\)/);
    const zero = await marketer('POST', '/admin/campaigns', {
      name: 'Impatient',
      message: { title: 'Sale', body: 'Now on' },
      audience: { segment: { tagsAll: ['sale'] } },
      wave_plan: { max_wait_seconds: 0 },
    });
    expect(zero.status).toBe(400);
    expect(JSON.stringify(zero.body.message)).toMatch(/wave_plan\.max_wait_seconds: must be a whole number of seconds from 1/);
    const ok = await create({ wave_plan: { max_wait_seconds: 120, pacing: false } });
    expect((await viewer('GET', `/admin/campaigns/${ok}`)).body.wave_plan).toMatchObject({ max_wait_seconds: 120, pacing: false });
  });
});
