/**
 * The gateway over HTTP, in front of a fake origin: admission, the waiting room, tokens, leaving, live settings
 * and throttling across two instances. Real Redis and PostgreSQL; rooms are created as the admin API does.
 */
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import { AdmissionTokens } from '@tidegate/admission';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { RoomRepository } from '@tidegate/database';
import { RoomConfigStore } from '@tidegate/redis';
import { RoomRegistry } from '../../apps/gateway/src/admission/room-registry';
import { startGateway, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv } from '../support/env';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

type Json = Record<string, unknown>;

describe('gateway admission', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: FakeOrigin;
  let gateway: RunningApp;
  let second: RunningApp;
  let rooms: RoomConfigStore;
  let seq = 0;

  beforeAll(async () => {
    [db, redis, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startFakeOrigin()]);
    const env = {
      databaseUrl: db.url,
      redisPrefix: redis.prefix,
      extra: { RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '200', THROTTLE_LIMIT: '1000' },
    };
    [gateway, second] = await Promise.all([startGateway(env), startGateway(env)]);
    rooms = new RoomConfigStore(redis.client, redis.keys);
  });

  afterAll(async () => {
    await Promise.all([gateway?.close(), second?.close()]);
    await origin?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  /** Creates a room as the admin API does (PostgreSQL, then the hot copy and version bump) and waits for the gateway. */
  async function createRoom(settings: Partial<RoomSettings>, paths?: string[]): Promise<string> {
    const id = `room-${++seq}`;
    const full = { ...ROOM_DEFAULTS, newUsersPerMinute: 600_000, ...settings };
    await gateway.app.get(RoomRepository).create({ id, name: `Room ${seq}`, originUrl: origin.url, paths: paths ?? [`/${id}/*`], ...full });
    await rooms.write(id, full);
    await waitFor(() => [gateway, second].every((g) => g.app.get(RoomRegistry).get(id) !== null), 5000, 'both gateways to load the room');
    return id;
  }

  async function updateRoom(id: string, settings: Partial<RoomSettings>): Promise<void> {
    const repo = gateway.app.get(RoomRepository);
    const result = await repo.update(id, settings);
    if (!result) throw new Error('no room');
    const after = result.after;
    await rooms.write(id, {
      ...ROOM_DEFAULTS,
      ...settings,
      totalActiveUsers: after.totalActiveUsers,
      queueAll: after.queueAll,
      newUsersPerMinute: after.newUsersPerMinute,
    });
  }

  const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers: { accept: 'application/json', ...headers } });
  const cookieValue = (res: Response, name: string) =>
    res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0] ?? '')
      .find((c) => c.startsWith(`${name}=`))
      ?.slice(name.length + 1);

  it('admits while there is room, proxying to the origin with forwarding headers; then queues in order', async () => {
    const id = await createRoom({ totalActiveUsers: 2 });
    const first = await get(`${gateway.url}/${id}/page?x=1`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-origin')).toBe('fake');
    const echoed = (await first.json()) as Json & { headers: Record<string, string> };
    expect(echoed).toMatchObject({ origin: true, method: 'GET', url: `/${id}/page?x=1` });
    expect(echoed.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echoed.headers['x-forwarded-proto']).toBe('http');
    expect(echoed.headers['x-forwarded-host']).toBe(new URL(gateway.url).host);
    expect(cookieValue(first, `tidegate_token_${id}`)).toMatch(/^ey/);

    expect((await get(`${second.url}/${id}/page`)).status).toBe(200);

    const waiting = await get(`${gateway.url}/${id}/page`);
    expect(waiting.status).toBe(200);
    expect(waiting.headers.get('x-origin')).toBeNull();
    expect(waiting.headers.get('cache-control')).toBe('no-store');
    const body = (await waiting.json()) as Json;
    expect(body).toMatchObject({
      inWaitingRoom: true,
      roomId: id,
      position: 1,
      aheadOfYou: 0,
      queueAll: false,
      statusUrl: `/rooms/${id}/status`,
    });
    expect(body.ticket).toEqual(cookieValue(waiting, `tidegate_ticket_${id}`));
    const next = (await (await get(`${second.url}/${id}/page`)).json()) as Json;
    expect(next).toMatchObject({ position: 2, aheadOfYou: 1 });

    const page = await fetch(`${gateway.url}/${id}/page`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('Room ');
    expect(html).toContain('aria-live');
  });

  it('keeps an admitted user in with their token, and streams request bodies to the origin', async () => {
    const id = await createRoom({ totalActiveUsers: 1 });
    const first = await get(`${gateway.url}/${id}/a`);
    const token = cookieValue(first, `tidegate_token_${id}`)!;
    for (let i = 0; i < 3; i++) {
      const again = await get(`${second.url}/${id}/a`, { cookie: `tidegate_token_${id}=${token}` });
      expect(again.headers.get('x-origin')).toBe('fake');
    }
    const upload = await fetch(`${gateway.url}/${id}/upload`, {
      method: 'POST',
      headers: { 'x-tidegate-token': token, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(3 * 1024 * 1024, 7),
    });
    expect(((await upload.json()) as Json).bodyBytes).toBe(3 * 1024 * 1024);
    // A newcomer waits: the one place is taken.
    expect(((await (await get(`${gateway.url}/${id}/a`)).json()) as Json).inWaitingRoom).toBe(true);
  });

  it('refuses forged, expired and other-room tokens: their holders go to the waiting room', async () => {
    const id = await createRoom({ totalActiveUsers: 1 });
    const other = await createRoom({ totalActiveUsers: 5 });
    await get(`${gateway.url}/${id}/x`); // fills the room
    const otherToken = cookieValue(await get(`${gateway.url}/${other}/x`), `tidegate_token_${other}`)!;
    const tokens = await AdmissionTokens.fromPem(admissionEnv().ADMISSION_SIGNING_KEY!);
    const expired = await tokens.sign({ roomId: id, sessionId: 'sX', expiresAt: Math.floor(Date.now() / 1000) - 5 });
    const [h, p] = otherToken.split('.');
    const forged = `${h}.${p}.AAAA`;
    for (const bad of [forged, expired, otherToken, 'garbage']) {
      const res = await get(`${gateway.url}/${id}/x`, { 'x-tidegate-token': bad });
      expect(res.headers.get('x-origin')).toBeNull();
      expect(((await res.json()) as Json).inWaitingRoom).toBe(true);
    }
  });

  it('publishes a JWKS that verifies its tokens with a standard JWT library', async () => {
    const id = await createRoom({ totalActiveUsers: 5 });
    const token = cookieValue(await get(`${gateway.url}/${id}/x`), `tidegate_token_${id}`)!;
    const jwksRes = await fetch(`${gateway.url}/.well-known/jwks.json`);
    expect(jwksRes.headers.get('cache-control')).toContain('max-age');
    const jwks = (await jwksRes.json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${gateway.url}/.well-known/jwks.json`)), {
      issuer: 'tidegate',
      audience: `tidegate:room:${id}`,
    });
    expect(payload).toMatchObject({ room: id });
    await expect(jwtVerify(token, createLocalJWKSet(jwks as never), { audience: 'tidegate:room:other' })).rejects.toThrow();
  });

  it('lets the next in line in within a second of someone leaving', async () => {
    const id = await createRoom({ totalActiveUsers: 1 });
    const token = cookieValue(await get(`${gateway.url}/${id}/x`), `tidegate_token_${id}`)!;
    const waiting = (await (await get(`${gateway.url}/${id}/x`)).json()) as { ticket: string };
    const left = await fetch(`${gateway.url}/rooms/${id}/leave`, { method: 'POST', headers: { 'x-tidegate-token': token } });
    expect(await left.json()).toEqual({ left: false, sessionEnded: true });
    let admitted: Json | undefined;
    await waitFor(
      async () => {
        const res = await get(`${second.url}/rooms/${id}/status`, { 'x-tidegate-ticket': waiting.ticket });
        const body = (await res.json()) as Json;
        if (body.inWaitingRoom === false) admitted = body;
        return body.inWaitingRoom === false;
      },
      1500,
      'the waiting user to be admitted',
    );
    expect(admitted?.token).toEqual(expect.stringMatching(/^ey/));
    // The old token no longer passes: its session ended.
    const old = await get(`${gateway.url}/${id}/x`, { 'x-tidegate-token': token });
    expect(old.headers.get('x-origin')).toBeNull();
  });

  it('applies total_active_users and queue_all changes within a second, on both instances', async () => {
    const id = await createRoom({ totalActiveUsers: 1 });
    await get(`${gateway.url}/${id}/x`);
    expect(((await (await get(`${gateway.url}/${id}/x`)).json()) as Json).inWaitingRoom).toBe(true);

    await updateRoom(id, { totalActiveUsers: 10 });
    const started = Date.now();
    // The waiting ticket is released first (FIFO), then newcomers are admitted directly.
    await waitFor(async () => (await get(`${second.url}/${id}/y`)).headers.get('x-origin') === 'fake', 1000, 'admission to open');
    expect(Date.now() - started).toBeLessThan(1000);

    await updateRoom(id, { totalActiveUsers: 10, queueAll: true });
    await waitFor(async () => ((await (await get(`${gateway.url}/${id}/z`)).json()) as Json).queueAll === true, 1000, 'queue_all to apply');
  });

  it("serves the waiting page's own assets, socket.io's client included (no CDN)", async () => {
    for (const [asset, type] of [
      ['waiting-room.js', 'text/javascript'],
      ['waiting-room.css', 'text/css'],
      ['socket.io.min.js', 'text/javascript'],
    ] as const) {
      const res = await fetch(`${gateway.url}/_tidegate/${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('cache-control')).toContain('public');
    }
    const io = await (await fetch(`${gateway.url}/_tidegate/socket.io.min.js`)).text();
    expect(io.length).toBeGreaterThan(10_000);
  });

  it('answers bad input with 4xx and a reason, never 500', async () => {
    const id = await createRoom({ totalActiveUsers: 1 });
    expect((await get(`${gateway.url}/rooms/no-such-room/status`)).status).toBe(404);
    const noTicket = await get(`${gateway.url}/rooms/${id}/status`);
    expect(noTicket.status).toBe(400);
    expect(((await noTicket.json()) as Json).message).toMatch(/send your ticket/);
    expect((await get(`${gateway.url}/rooms/${'x'.repeat(300)}/status`)).status).toBe(414);
    const noCredentials = await fetch(`${gateway.url}/rooms/${id}/leave`, { method: 'POST' });
    expect(noCredentials.status).toBe(400);
    expect(((await noCredentials.json()) as Json).message).toMatch(/ticket or admission token/);
    const malformed = await fetch(`${gateway.url}/rooms/${id}/leave`, { method: 'POST', headers: { 'x-tidegate-ticket': 'not-a-ticket' } });
    expect(malformed.status).toBe(400);
    const huge = await fetch(`${gateway.url}/rooms/${id}/leave`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(100_000) }),
    });
    expect(huge.status).toBe(413);
    const forgedTicket = await get(`${gateway.url}/rooms/${id}/status`, { 'x-tidegate-ticket': `${id}.1.1.AAAAAAAAAAAAAAAAAAAAAA` });
    expect(forgedTicket.status).toBe(200); // treated as a newcomer
    expect((await get(`${gateway.url}/nothing-here`)).status).toBe(404);
  });
});
