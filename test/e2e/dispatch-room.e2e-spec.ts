/**
 * The sender and the gate know about each other: the pacing controller holds a campaign attached to a room while
 * the room's line is longer than the campaign's wait budget allows, and sends once the gateway has let the line in.
 * A real gateway in front of a fake origin counts real waiting users; the scheduler's pacer reads them from the
 * gateway's snapshot in Redis. While held the campaign says why, live (its `activity`: how many wait, the predicted
 * wait, the budget) and on its timeline (`held` then `resumed` by pacing; the wave's `released`). With pacing off
 * the same line holds nothing.
 */
import { PrismaService } from '@tidegate/database';
import { startGateway, startScheduler, type RunningApp } from '../support/apps';
import { adminCall } from '../support/admin-api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { waitFor } from '../support/processes';
import { deliveriesByDevice, seedDevices, startPushFakes, type PushFakes } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;

describe('dispatch paced by the waiting room', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let fakes: PushFakes;
  let origin: FakeOrigin;
  let scheduler: RunningApp;
  let gateway: RunningApp;
  let keys: Record<string, string>;

  const api = (method: string, path: string, body: unknown, role: string) =>
    adminCall(scheduler.url, keys[role] as string, method, path, body);
  const prisma = () => scheduler.app.get(PrismaService);
  /** The campaign's timeline (one page: a handful of entries here). */
  const timeline = async (id: string) =>
    ((await api('GET', `/admin/campaigns/${id}/timeline`, undefined, 'viewer')).body as Json).items as Json[];

  beforeAll(async () => {
    [db, redis, fakes, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startPushFakes(), startFakeOrigin()]);
    const env = { databaseUrl: db.url, redisPrefix: redis.prefix };
    scheduler = await startScheduler({ ...env, extra: { ...fakes.env, STATS_FLUSH_MS: '300' } }, 'all');
    gateway = await startGateway({ ...env, extra: { RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '200', THROTTLE_LIMIT: '1000' } });
    keys = await createRoleKeys(scheduler.app);
  });

  afterAll(async () => {
    await Promise.all([scheduler?.close(), gateway?.close()]);
    await Promise.all([fakes?.close(), origin?.close(), redis?.cleanup(), db?.drop()]);
  });

  /** A room of one place admitting one person a minute, with ten people arrived: one in, nine waiting. */
  async function fillRoom(id: string): Promise<void> {
    const room = await api(
      'POST',
      '/admin/rooms',
      { id, name: id, origin_url: origin.url, paths: [`/${id}/*`], total_active_users: 1, new_users_per_minute: 1, max_wait_seconds: 60 },
      'sre',
    );
    expect(room.status).toBe(201);
    const visit = (i: number) =>
      fetch(`${gateway.url}/${id}/home`, { headers: { accept: 'application/json', 'x-device-id': `visitor-${id}-${i}` } });
    await waitFor(async () => (await visit(0)).headers.get('x-origin') === 'fake', 5000, 'the room to open');
    for (let i = 1; i < 10; i++) expect(((await (await visit(i)).json()) as Json).inWaitingRoom).toBe(true);
    const snapshotKey = `${redis.prefix}:{room:${id}}:snapshot`;
    await waitFor(async () => ((JSON.parse((await redis.client.get(snapshotKey)) ?? '{}') as Json).waiting ?? 0) >= 9, 5000, 'the line');
  }

  async function startCampaign(tag: string, roomId: string, pacing: boolean): Promise<string> {
    const created = await api(
      'POST',
      '/admin/campaigns',
      {
        name: `Paced by the room (${tag})`,
        message: { title: 'Sale', body: 'Now on' },
        audience: { segment: { tagsAll: [tag] } },
        wave_plan: { batch_size: 30, wave_size: 30, interval_seconds: 0, pacing },
        room_id: roomId,
      },
      'marketer',
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api('POST', `/admin/campaigns/${id}/start`, undefined, 'marketer')).status).toBe(200);
    return id;
  }

  const pacingHeld = async (id: string) => (await timeline(id)).find((e) => e.kind === 'held' && e.actor === 'pacing');

  it('holds the campaign while the line is too long for its budget, says why while it waits, and sends once the line has gone in', async () => {
    await fillRoom('sale');
    const devices = await seedDevices(prisma(), fakes, 60, { tags: ['room'] });
    const id = await startCampaign('room', 'sale', true);

    // Held: the pacing controller judged the room (nine waiting at one a minute: far beyond the 60 s budget) and
    // holds the campaign; it says so live (defect 15: it showed "running" with no reason until the wave left) and on
    // the timeline, with the figures. Nothing has left.
    await waitFor(async () => (await pacingHeld(id)) !== undefined, 15_000, 'the timeline to record the pacing hold');
    const holding = (await api('GET', `/admin/campaigns/${id}`, undefined, 'viewer')).body as Json;
    expect(holding).toMatchObject({ status: 'running', activity: { state: 'held', reason: 'pacing' } });
    const activity = holding.activity as Json;
    expect(activity.figures).toMatchObject({ room_id: 'sale', waiting: 9, budgetSeconds: 60 });
    expect(activity.message).toMatch(/held: 9 waiting and \d+ taps still to come from what was sent give a predicted max wait of \d+ s/);
    const stats = (await api('GET', `/admin/campaigns/${id}/stats`, undefined, 'viewer')).body as Json;
    expect(stats.activity).toMatchObject({ reason: 'pacing' });
    const entry = (await pacingHeld(id)) as Json;
    expect(entry.figures).toMatchObject({ room_id: 'sale', waiting: 9, send_per_second: 0 });
    expect(await prisma().campaignWave.count({ where: { campaignId: id } })).toBe(0);
    expect([...deliveriesByDevice(fakes, devices).values()].every((n) => n === 0)).toBe(true);

    // The SRE opens the room wide: the gateway lets the line in, the controller sends again, the waves go.
    expect((await api('PATCH', '/admin/rooms/sale', { total_active_users: 1000, new_users_per_minute: 60_000 }, 'sre')).status).toBe(200);
    await waitFor(async () => (await timeline(id)).some((e) => e.kind === 'resumed' && e.actor === 'pacing'), 30_000, 'pacing to resume');
    await waitFor(
      async () => (await api('GET', `/admin/campaigns/${id}`, undefined, 'viewer')).body.status === 'completed',
      30_000,
      'completion',
    );
    expect((await api('GET', `/admin/campaigns/${id}`, undefined, 'viewer')).body.activity).toBeNull();
    const entries = await timeline(id);
    const resumed = entries.find((e) => e.kind === 'resumed') as Json;
    expect(entries.indexOf((await pacingHeld(id)) as Json)).toBeLessThan(entries.indexOf(resumed));
    // Every wave left after the hold ended.
    const waves = await prisma().campaignWave.findMany({ where: { campaignId: id }, orderBy: { wave: 'asc' } });
    expect(waves[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(new Date(resumed.at as string).getTime() - 1000);
    expect([...deliveriesByDevice(fakes, devices).values()].every((n) => n === 1)).toBe(true);
  });

  it('with pacing off the same line holds nothing: the waves leave as planned', async () => {
    await fillRoom('flood');
    const devices = await seedDevices(prisma(), fakes, 60, { tags: ['flood'] });
    const id = await startCampaign('flood', 'flood', false);
    await waitFor(
      async () => (await api('GET', `/admin/campaigns/${id}`, undefined, 'viewer')).body.status === 'completed',
      30_000,
      'completion',
    );
    expect([...deliveriesByDevice(fakes, devices).values()].every((n) => n === 1)).toBe(true);
    expect((await timeline(id)).filter((e) => e.kind === 'held')).toEqual([]);
    // The line was still there all along: nobody was let in meanwhile.
    const snapshot = JSON.parse((await redis.client.get(`${redis.prefix}:{room:flood}:snapshot`)) ?? '{}') as Json;
    expect(snapshot.waiting).toBeGreaterThanOrEqual(8);
  });
});
