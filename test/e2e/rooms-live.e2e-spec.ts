/**
 * The admin API and the gateway together, as SREs use them: settings changed through the admin API change admission
 * within a second; the room's live status; revoking a session; throttling shared by two gateways.
 */
import { generateApiKey } from '@tidegate/auth';
import { RoomRegistry } from '../../apps/gateway/src/admission/room-registry';
import { ApiKeyRepository } from '@tidegate/database';
import { adminCall } from '../support/admin-api';
import { startGateway, startScheduler, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

type Json = Record<string, unknown>;

describe('rooms, live', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: FakeOrigin;
  let scheduler: RunningApp;
  let gateways: RunningApp[];
  let sre: string;
  let viewer: string;

  beforeAll(async () => {
    [db, redis, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startFakeOrigin()]);
    const env = { databaseUrl: db.url, redisPrefix: redis.prefix };
    scheduler = await startScheduler(env, 'api');
    const gatewayEnv = {
      ...env,
      extra: { RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '200', THROTTLE_LIMIT: '5', THROTTLE_WINDOW_SECONDS: '60' },
    };
    gateways = await Promise.all([startGateway(gatewayEnv), startGateway(gatewayEnv)]);
    const repo = scheduler.app.get(ApiKeyRepository);
    const keys = { sre: generateApiKey(), viewer: generateApiKey() };
    await repo.create({ name: 'sre', role: 'sre', prefix: keys.sre.prefix, hash: keys.sre.hash });
    await repo.create({ name: 'viewer', role: 'viewer', prefix: keys.viewer.prefix, hash: keys.viewer.hash });
    [sre, viewer] = [keys.sre.key, keys.viewer.key];
  });

  afterAll(async () => {
    await Promise.all([scheduler?.close(), ...(gateways ?? []).map((g) => g.close())]);
    await origin?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  /** The admin API as an SRE, or with another key. */
  const admin = (method: string, path: string, body?: unknown, key: string = sre) => adminCall(scheduler.url, key, method, path, body);
  /** A user's request to the gateway: each user its own device id, so throttling counts them apart. */
  const visit = (g: RunningApp, path: string, device: string, headers: Record<string, string> = {}) =>
    fetch(`${g.url}${path}`, { headers: { accept: 'application/json', 'x-device-id': device, ...headers } });
  let deviceSeq = 0;
  const device = () => `device-${String(++deviceSeq).padStart(6, '0')}`;

  async function createRoom(body: Json): Promise<string> {
    const res = await admin('POST', '/admin/rooms', { origin_url: origin.url, new_users_per_minute: 600000, ...body });
    expect(res.status).toBe(201);
    return (body as { id: string }).id;
  }

  it('applies total_active_users and queue_all changed through the admin API within a second, on every gateway', async () => {
    const id = await createRoom({ id: 'flash', paths: ['/flash/*'], total_active_users: 1 });
    await waitFor(
      async () => (await visit(gateways[0]!, '/flash/a', device())).headers.get('x-origin') === 'fake',
      2000,
      'the room to open',
    );
    // The other gateway loads the room within ROOMS_REFRESH_MS (404 until then): its newcomer waits, the room is full.
    await waitFor(
      async () => ((await (await visit(gateways[1]!, '/flash/a', device())).json()) as Json).inWaitingRoom === true,
      2000,
      'the second gateway to queue a newcomer',
    );

    const patched = await admin('PATCH', `/admin/rooms/${id}`, { total_active_users: 50 });
    expect(patched.body.live).toBe(true);
    const started = Date.now();
    await waitFor(
      async () => (await visit(gateways[1]!, '/flash/b', device())).headers.get('x-origin') === 'fake',
      1000,
      'more users to be admitted',
    );
    expect(Date.now() - started).toBeLessThan(1000);

    await admin('PATCH', `/admin/rooms/${id}`, { queue_all: true });
    await waitFor(
      async () =>
        Promise.all(gateways.map(async (g) => ((await (await visit(g, '/flash/c', device())).json()) as Json).inWaitingRoom === true)).then(
          (r) => r.every(Boolean),
        ),
      1000,
      'queue_all to apply on both gateways',
    );
  });

  it("reports a room's live numbers to SREs, and lets them end a session", async () => {
    const id = await createRoom({ id: 'status-room', paths: ['/status-room/*'], total_active_users: 2, max_wait_seconds: 60 });
    await waitFor(() => gateways.every((g) => g.app.get(RoomRegistry).get(id) !== null), 2000, 'the room to load');
    const first = await visit(gateways[0]!, '/status-room/x', 'first-user-1');
    expect(first.headers.get('x-origin')).toBe('fake');
    const firstToken = first.headers.get('x-tidegate-token');
    await visit(gateways[0]!, '/status-room/x', device());
    for (let i = 0; i < 3; i++) await visit(gateways[1]!, '/status-room/x', device());

    let status: Json = {};
    await waitFor(
      async () => {
        const res = await admin('GET', `/admin/rooms/${id}/status`, undefined, viewer);
        status = res.status === 200 ? res.body : {};
        return status.waiting === 3;
      },
      3000,
      'a snapshot with three waiting',
    );
    expect(status).toMatchObject({ roomId: id, waiting: 3, active: 2, queueAll: false, suspended: false });
    expect(status.admittedPerMinute).toBeGreaterThanOrEqual(2);
    expect(typeof status.oldestTicketAgeSeconds).toBe('number');
    expect(status.reportedAt).toEqual(expect.any(String));

    // Revoking: the first user's token stops working at once.
    expect(firstToken).toBeTruthy();
    const sub = JSON.parse(Buffer.from(firstToken!.split('.')[1]!, 'base64url').toString()) as { sub: string };
    expect((await admin('DELETE', `/admin/rooms/${id}/sessions/${sub.sub}`, undefined, viewer)).status).toBe(403);
    expect((await admin('DELETE', `/admin/rooms/${id}/sessions/${sub.sub}`)).status).toBe(200);
    expect((await admin('DELETE', `/admin/rooms/${id}/sessions/${sub.sub}`)).status).toBe(404);
    const after = await visit(gateways[1]!, '/status-room/x', 'first-user-1', { 'x-tidegate-token': firstToken! });
    expect(after.headers.get('x-origin')).toBeNull();

    expect((await admin('GET', '/admin/rooms/no-such-room/status')).status).toBe(404);
    expect((await admin('GET', '/admin/rooms/Bad_Id/status')).status).toBe(400);
  });

  it('deletes a room with its line and sessions: a room re-created with the same id starts clean', async () => {
    const body = { id: 'reborn', paths: ['/reborn/*'], total_active_users: 1 };
    await createRoom(body);
    await waitFor(() => gateways.every((g) => g.app.get(RoomRegistry).get('reborn') !== null), 2000, 'the room to load');
    expect((await visit(gateways[0]!, '/reborn/x', device())).headers.get('x-origin')).toBe('fake');
    for (let i = 1; i <= 3; i++) expect(await (await visit(gateways[1]!, '/reborn/x', device())).json()).toMatchObject({ position: i });

    expect((await admin('DELETE', '/admin/rooms/reborn')).body.live).toBe(true);
    await waitFor(() => gateways.every((g) => g.app.get(RoomRegistry).get('reborn') === null), 2000, 'the gateways to drop the room');
    await createRoom(body);
    await waitFor(() => gateways.every((g) => g.app.get(RoomRegistry).get('reborn') !== null), 2000, 'the room to load again');

    // No sessions inherited: the first visitor goes in; no tickets inherited: the next one is #1 with ticket 1.
    expect((await visit(gateways[0]!, '/reborn/x', device())).headers.get('x-origin')).toBe('fake');
    const next = (await (await visit(gateways[1]!, '/reborn/x', device())).json()) as Json;
    expect(next).toMatchObject({ inWaitingRoom: true, position: 1 });
    expect(String(next.ticket).split('.')[1]).toBe('1');
  });

  it('refuses a path pattern another room protects already (409), naming the room', async () => {
    await createRoom({ id: 'owner', paths: ['/owned/*', '/checkout'] });
    const clash = await admin('POST', '/admin/rooms', { id: 'intruder', origin_url: origin.url, paths: ['/checkout'] });
    expect(clash.status).toBe(409);
    expect(clash.body.message).toContain('/checkout (room owner)');
    await createRoom({ id: 'neighbour', paths: ['/owned/special/*'] }); // overlapping but more specific: fine
    expect((await admin('PATCH', '/admin/rooms/neighbour', { paths: ['/owned/*'] })).status).toBe(409);
    expect((await admin('PATCH', '/admin/rooms/owner', { paths: ['/owned/*'] })).status).toBe(200);
  });

  it('throttles a client across both gateways: 429 with RateLimit headers and Retry-After', async () => {
    await createRoom({ id: 'throttled', paths: ['/throttled/*'], total_active_users: 1000 });
    await waitFor(() => gateways.every((g) => g.app.get(RoomRegistry).get('throttled') !== null), 2000, 'the room to load');
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await visit(gateways[i % 2]!, '/throttled/x', 'greedy-device');
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else expect(res.headers.get('ratelimit-remaining')).toBe(String(4 - i));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(refused?.headers.get('ratelimit-limit')).toBe('5');
    expect(refused?.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused?.headers.get('ratelimit-reset')).toBe(refused?.headers.get('retry-after'));
    expect(((await refused!.json()) as Json).message).toMatch(/Too many requests: retry in \d+ s/);
    // Somebody else is not affected.
    expect((await visit(gateways[0]!, '/throttled/x', 'polite-device')).status).toBe(200);
  });
});
