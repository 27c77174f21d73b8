/**
 * The sender and the gate know about each other: a campaign attached to a room holds its next wave while the
 * room's line is longer than the room can absorb (pressure: the estimated wait over the room's max wait), and sends
 * it once the gateway has let the line in. A real gateway in front of a fake origin computes the pressure from real
 * waiting users; the scheduler (API and workers) reads it from the gateway's snapshot in Redis.
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

  it('holds the wave while the line is too long for the room, and sends it once the line has gone in', async () => {
    const room = await api(
      'POST',
      '/admin/rooms',
      {
        id: 'sale',
        name: 'Sale',
        origin_url: origin.url,
        paths: ['/sale/*'],
        total_active_users: 1,
        new_users_per_minute: 1,
        max_wait_seconds: 60,
      },
      'sre',
    );
    expect(room.status).toBe(201);
    // Ten people arrive: the first gets in (once the gateway has loaded the room), the others wait; at one
    // admission a minute their wait is far above the room's minute.
    const visit = (i: number) =>
      fetch(`${gateway.url}/sale/home`, { headers: { accept: 'application/json', 'x-device-id': `visitor-${i}` } });
    await waitFor(async () => (await visit(0)).headers.get('x-origin') === 'fake', 5000, 'the room to open');
    for (let i = 1; i < 10; i++) expect(((await (await visit(i)).json()) as Json).inWaitingRoom).toBe(true);
    const snapshotKey = `${redis.prefix}:{room:sale}:snapshot`;
    await waitFor(async () => ((JSON.parse((await redis.client.get(snapshotKey)) ?? '{}') as Json).waiting ?? 0) >= 9, 5000, 'the line');

    const devices = await seedDevices(scheduler.app.get(PrismaService), fakes, 60, { tags: ['room'] });
    const created = await api(
      'POST',
      '/admin/campaigns',
      {
        name: 'Paced by the room',
        message: { title: 'Sale', body: 'Now on' },
        audience: { segment: { tagsAll: ['room'] } },
        wave_plan: { batch_size: 30, wave_size: 30, interval_seconds: 0 },
        room_id: 'sale',
      },
      'marketer',
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api('POST', `/admin/campaigns/${id}/start`, undefined, 'marketer')).status).toBe(200);

    // Held: the campaign runs, but nothing leaves while the room is under pressure.
    await new Promise((r) => setTimeout(r, 2500));
    expect([...deliveriesByDevice(fakes, devices).values()].every((n) => n === 0)).toBe(true);
    expect((await api('GET', `/admin/campaigns/${id}`, undefined, 'viewer')).body.status).toBe('running');

    // The SRE opens the room wide: the gateway lets the line in, the pressure drops, the waves go.
    const relievedAt = Date.now();
    expect((await api('PATCH', '/admin/rooms/sale', { total_active_users: 1000, new_users_per_minute: 60_000 }, 'sre')).status).toBe(200);
    await waitFor(
      async () => (await api('GET', `/admin/campaigns/${id}`, undefined, 'viewer')).body.status === 'completed',
      30_000,
      'completion',
    );
    expect([...deliveriesByDevice(fakes, devices).values()].every((n) => n === 1)).toBe(true);
    const waves = await scheduler.app.get(PrismaService).campaignWave.findMany({ where: { campaignId: id }, orderBy: { wave: 'asc' } });
    expect(waves[0]).toMatchObject({ wave: 1, startNote: 'room_pressure' });
    expect(waves[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(relievedAt);
  });
});
