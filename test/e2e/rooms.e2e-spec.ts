/** The waiting rooms' admin API over HTTP against a booted scheduler: PostgreSQL rows and their hot copy in Redis. */
import { Logger } from '@nestjs/common';
import { ROOM_DEFAULTS, type Role, type RoomSettings } from '@tidegate/contracts';
import { RedisKeys, RoomConfigStore } from '@tidegate/redis';
import { RoomsService } from '../../apps/scheduler/src/rooms/rooms.service';
import { adminClient, type AdminAnswer } from '../support/admin-api';
import { startScheduler, type RunningApp } from '../support/apps';
import { waitFor } from '../support/processes';
import { createRoleKeys } from '../support/keys';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestRedis, type TestRedis } from '../support/redis';

type Json = Record<string, unknown>;
type Answer = AdminAnswer<Json & { message?: string | string[] }>;

describe('admin API: waiting rooms', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let store: RoomConfigStore;
  const keys: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix });
    store = new RoomConfigStore(redis.client, redis.keys);
    Object.assign(keys, await createRoleKeys(scheduler.app));
  });

  afterAll(async () => {
    await scheduler?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const { call, as } = adminClient<Answer['body']>(() => scheduler.url, keys);
  const sre = as('sre');
  const messages = (answer: Answer) => [answer.body.message ?? []].flat();
  const roomCount = async () => ((await sre('GET', '/admin/rooms')).body as unknown as unknown[]).length;
  const settingsOf = (room: Json): RoomSettings => ({
    totalActiveUsers: room.total_active_users as number,
    newUsersPerMinute: room.new_users_per_minute as number,
    sessionDurationSeconds: room.session_duration_seconds as number,
    queueingMethod: room.queueing_method as RoomSettings['queueingMethod'],
    queueAll: room.queue_all as boolean,
    suspended: room.suspended as boolean,
    maxWaitSeconds: room.max_wait_seconds as number,
    originMaxP95Ms: room.origin_max_p95_ms as number,
    originMaxErrorRate: room.origin_max_error_rate as number,
    originMinRequests: room.origin_min_requests as number,
    unhealthyAdmissionFactor: room.unhealthy_admission_factor as number,
  });

  it('creates a room with defaults filled in, and writes its hot copy to Redis', async () => {
    const versionBefore = await store.version();
    const created = await sre('POST', '/admin/rooms', { id: 'spring-sale', origin_url: 'https://shop.example.com' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: 'spring-sale',
      name: 'spring-sale',
      origin_url: 'https://shop.example.com',
      paths: ['/*'],
      total_active_users: ROOM_DEFAULTS.totalActiveUsers,
      new_users_per_minute: ROOM_DEFAULTS.newUsersPerMinute,
      session_duration_seconds: ROOM_DEFAULTS.sessionDurationSeconds,
      queueing_method: ROOM_DEFAULTS.queueingMethod,
      queue_all: ROOM_DEFAULTS.queueAll,
      suspended: ROOM_DEFAULTS.suspended,
      max_wait_seconds: ROOM_DEFAULTS.maxWaitSeconds,
      message: null,
      live: true,
    });
    expect(Date.parse(created.body.created_at as string)).not.toBeNaN();
    expect(await store.read('spring-sale')).toEqual(ROOM_DEFAULTS);
    expect(await store.version()).toBeGreaterThan(versionBefore);

    const got = await call('GET', '/admin/rooms/spring-sale', { role: 'viewer' });
    expect(got.status).toBe(200);
    const { live: _live, ...view } = created.body;
    expect(got.body).toEqual(view);
  });

  it('creates a room with every field set', async () => {
    const room = {
      id: 'black-friday',
      name: 'Black Friday',
      origin_url: 'http://127.0.0.1:8080/base',
      paths: ['/shop/*', '/checkout'],
      total_active_users: 5000,
      new_users_per_minute: 1200,
      session_duration_seconds: 600,
      queueing_method: 'reject',
      queue_all: true,
      suspended: false,
      max_wait_seconds: 0,
      origin_max_p95_ms: 800,
      origin_max_error_rate: 0.05,
      origin_min_requests: 50,
      unhealthy_admission_factor: 0,
      message: 'Thanks for waiting!',
    };
    const created = await sre('POST', '/admin/rooms', room);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...room, live: true });
    expect(await store.read('black-friday')).toEqual(settingsOf(room));
  });

  it('applies a PATCH to the hot copy at once, changing only the fields sent', async () => {
    const versionBefore = await store.version();
    const log = jest.spyOn(Logger.prototype, 'log');
    try {
      const patched = await sre('PATCH', '/admin/rooms/spring-sale', { total_active_users: 5, queue_all: true });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id: 'spring-sale', total_active_users: 5, queue_all: true, live: true });
      expect(await store.read('spring-sale')).toEqual({ ...ROOM_DEFAULTS, totalActiveUsers: 5, queueAll: true });
      expect(await store.version()).toBeGreaterThan(versionBefore);

      // The change is logged for SREs: who, which room, old -> new values of the changed fields only.
      expect(log).toHaveBeenCalledWith(
        expect.objectContaining({
          event: 'room.updated',
          actor: 'sre-key',
          actorKeyId: expect.any(String) as unknown,
          roomId: 'spring-sale',
          changes: {
            total_active_users: { from: ROOM_DEFAULTS.totalActiveUsers, to: 5 },
            queue_all: { from: false, to: true },
          },
        }),
      );
    } finally {
      log.mockRestore();
    }

    const got = await sre('GET', '/admin/rooms/spring-sale');
    expect(got.body).toMatchObject({ total_active_users: 5, queue_all: true, origin_url: 'https://shop.example.com', paths: ['/*'] });

    const cleared = await sre('PATCH', '/admin/rooms/black-friday', { message: null, paths: ['/black-friday/*'] });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ message: null, paths: ['/black-friday/*'], name: 'Black Friday' });
  });

  it('lets a viewer read but not change rooms, a marketer not create them, and nobody in without a key', async () => {
    expect((await call('GET', '/admin/rooms', { role: 'viewer' })).status).toBe(200);
    expect((await call('GET', '/admin/rooms/spring-sale', { role: 'viewer' })).status).toBe(200);
    const body = { id: 'viewer-room', origin_url: 'https://shop.example.com' };
    const forbidden = [
      await call('POST', '/admin/rooms', { role: 'viewer', body }),
      await call('PATCH', '/admin/rooms/spring-sale', { role: 'viewer', body: { suspended: true } }),
      await call('DELETE', '/admin/rooms/spring-sale', { role: 'viewer' }),
      await call('POST', '/admin/rooms', { role: 'marketer', body }),
      await call('PATCH', '/admin/rooms/spring-sale', { role: 'marketer', body: { suspended: true } }),
    ];
    for (const answer of forbidden) {
      expect(answer.status).toBe(403);
      expect(messages(answer).join()).toMatch(/needs the sre role/);
    }
    for (const [method, path] of [
      ['GET', '/admin/rooms'],
      ['GET', '/admin/rooms/spring-sale'],
      ['POST', '/admin/rooms'],
      ['PATCH', '/admin/rooms/spring-sale'],
      ['DELETE', '/admin/rooms/spring-sale'],
    ] as const) {
      expect((await call(method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : body })).status).toBe(401);
    }
    expect((await sre('GET', '/admin/rooms/spring-sale')).body).toMatchObject({ suspended: false });
    expect((await sre('GET', '/admin/rooms/viewer-room')).status).toBe(404);
  });

  const base = { id: 'bad-room', origin_url: 'https://shop.example.com' };
  it.each([
    ['a non-slug id', { ...base, id: 'Bad Room' }, 'id', /^id must be a slug/],
    ['an id too long', { ...base, id: 'a'.repeat(64) }, 'id', /^id must be a slug/],
    ['a relative origin_url', { ...base, origin_url: '/shop' }, 'origin_url', /^origin_url must be an absolute URL/],
    ['an origin_url with a query', { ...base, origin_url: 'https://shop.example.com/?a=1' }, 'origin_url', /query/],
    ['a path without a leading slash', { ...base, paths: ['shop/*'] }, 'paths', /^paths \[0\] "shop\/\*" must start with \//],
    ['a * inside a path', { ...base, paths: ['/a*b'] }, 'paths', /^paths \[0\] "\/a\*b" may contain \* only as its last character/],
    ['no paths', { ...base, paths: [] }, 'paths', /^paths must contain at least 1/],
    ['total_active_users 0', { ...base, total_active_users: 0 }, 'total_active_users', /^total_active_users must be an integer from 1/],
    ['total_active_users -1', { ...base, total_active_users: -1 }, 'total_active_users', /^total_active_users must be an integer/],
    ['total_active_users 1.5', { ...base, total_active_users: 1.5 }, 'total_active_users', /^total_active_users must be an integer/],
    ['total_active_users "100"', { ...base, total_active_users: '100' }, 'total_active_users', /^total_active_users must be an integer/],
    ['total_active_users null', { ...base, total_active_users: null }, 'total_active_users', /^total_active_users must be an integer/],
    ['session_duration_seconds 9', { ...base, session_duration_seconds: 9 }, 'session_duration_seconds', /from 10 to 86400/],
    ['max_wait_seconds 86401', { ...base, max_wait_seconds: 86_401 }, 'max_wait_seconds', /from 0 to 86400/],
    [
      'an unknown queueing_method',
      { ...base, queueing_method: 'lifo' },
      'queueing_method',
      /^queueing_method must be one of fifo, passthrough, reject$/,
    ],
    ['queue_all as a string', { ...base, queue_all: 'yes' }, 'queue_all', /^queue_all must be a boolean/],
    ['a message too long', { ...base, message: 'x'.repeat(501) }, 'message', /^message must be shorter than or equal to 500/],
    ['an unknown property', { ...base, session_duration: 300 }, 'session_duration', /^property session_duration should not exist$/],
    ['no origin_url', { id: 'bad-room' }, 'origin_url', /^origin_url must be a string$/],
  ])('answers 400 to a POST with %s, naming the field, and creates nothing', async (_what, body, field, why) => {
    const before = await roomCount();
    const answer = await sre('POST', '/admin/rooms', body);
    expect(answer.status).toBe(400);
    expect(messages(answer)).toEqual(expect.arrayContaining([expect.stringMatching(why)]));
    expect(messages(answer).every((m) => m.includes(field))).toBe(true);
    expect(await roomCount()).toBe(before);
    expect(await store.read('bad-room')).toBeNull();
  });

  it('answers 400 naming every bad field of one body', async () => {
    const answer = await sre('POST', '/admin/rooms', { id: 'X', origin_url: 'nope', paths: ['x'], total_active_users: 0, extra: 1 });
    expect(answer.status).toBe(400);
    const text = messages(answer).join(' | ');
    for (const field of ['id', 'origin_url', 'paths', 'total_active_users', 'property extra']) expect(text).toContain(field);
  });

  it('answers 400 to a bad PATCH, an empty PATCH, malformed JSON and a malformed id, and changes nothing', async () => {
    const before = await sre('GET', '/admin/rooms/spring-sale');
    const versionBefore = await store.version();

    const empty = await sre('PATCH', '/admin/rooms/spring-sale', {});
    expect(empty.status).toBe(400);
    expect(messages(empty).join()).toMatch(/the body must set at least one of: name, origin_url, paths, total_active_users/);

    const bad = await sre('PATCH', '/admin/rooms/spring-sale', { total_active_users: 0, queueing_method: 'lifo', id: 'other' });
    expect(bad.status).toBe(400);
    const text = messages(bad).join(' | ');
    expect(text).toMatch(/total_active_users must be an integer from 1 to 10000000/);
    expect(text).toMatch(/queueing_method must be one of/);
    expect(text).toMatch(/property id should not exist/);

    expect((await call('PATCH', '/admin/rooms/spring-sale', { role: 'sre', raw: '{"queue_all":' })).status).toBe(400);
    expect((await call('POST', '/admin/rooms', { role: 'sre', raw: '[1, 2]' })).status).toBe(400);
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { queue_all: false }],
      ['DELETE', undefined],
    ] as const) {
      const malformed = await sre(method, '/admin/rooms/Spring_Sale', body);
      expect(malformed.status).toBe(400);
      expect(messages(malformed).join()).toMatch(/^id must be a slug/);
    }

    expect((await sre('GET', '/admin/rooms/spring-sale')).body).toEqual(before.body);
    expect(await store.version()).toBe(versionBefore);
  });

  it('answers 409 to a second room with the same id, keeping the first', async () => {
    const before = await roomCount();
    const again = await sre('POST', '/admin/rooms', { id: 'spring-sale', origin_url: 'https://other.example.com' });
    expect(again.status).toBe(409);
    expect(messages(again).join()).toContain('spring-sale exists already');
    expect(await roomCount()).toBe(before);
    expect((await sre('GET', '/admin/rooms/spring-sale')).body).toMatchObject({ origin_url: 'https://shop.example.com' });
  });

  it('answers 404 for an unknown id on GET, PATCH and DELETE', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { suspended: true }],
      ['DELETE', undefined],
    ] as const) {
      const answer = await sre(method, '/admin/rooms/no-such-room', body);
      expect(answer.status).toBe(404);
      expect(messages(answer).join()).toBe('no room with id no-such-room');
    }
    expect(await store.read('no-such-room')).toBeNull();
  });

  it('lists rooms by id', async () => {
    const listed = await call('GET', '/admin/rooms', { role: 'viewer' });
    expect(listed.status).toBe(200);
    expect((listed.body as unknown as Json[]).map((r) => r.id)).toEqual(['black-friday', 'spring-sale']);
  });

  it('deletes a room and its hot copy', async () => {
    expect(
      (await sre('POST', '/admin/rooms', { id: 'short-lived', origin_url: 'https://shop.example.com', paths: ['/short-lived/*'] })).status,
    ).toBe(201);
    expect(await store.read('short-lived')).not.toBeNull();
    const versionBefore = await store.version();

    const log = jest.spyOn(Logger.prototype, 'log');
    let deleted: Answer;
    try {
      deleted = await sre('DELETE', '/admin/rooms/short-lived');
      expect(log).toHaveBeenCalledWith(
        expect.objectContaining({
          event: 'room.deleted',
          actor: 'sre-key',
          roomId: 'short-lived',
          changes: expect.objectContaining({ origin_url: { from: 'https://shop.example.com', to: null } }) as unknown,
        }),
      );
    } finally {
      log.mockRestore();
    }
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ id: 'short-lived', live: true });
    expect(await store.read('short-lived')).toBeNull();
    expect(await store.version()).toBeGreaterThan(versionBefore);
    expect((await sre('GET', '/admin/rooms/short-lived')).status).toBe(404);
    expect((await sre('DELETE', '/admin/rooms/short-lived')).status).toBe(404);
  });

  describe('with Redis unreachable', () => {
    let cut: RunningApp;
    let consoleError: jest.SpyInstance;

    beforeAll(async () => {
      // BullMQ prints the refused connections of the dead Redis below on console.error: expected here, so kept quiet.
      // eslint-disable-next-line no-console -- anything else still reaches the console
      const print = console.error.bind(console);
      consoleError = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
        if (!args.some((a) => String(a).includes('ECONNREFUSED 127.0.0.1:1'))) print(...args);
      });
      // A second scheduler on the same database whose Redis is a dead port (REDIS_CLUSTER_NODES '' counts as unset).
      cut = await startScheduler(
        { databaseUrl: db.url, redisPrefix: redis.prefix, extra: { REDIS_URL: 'redis://127.0.0.1:1', REDIS_CLUSTER_NODES: '' } },
        'api',
      );
    });

    afterAll(async () => {
      await cut?.close();
      consoleError.mockRestore();
    });

    it('still saves a change in PostgreSQL and answers 200 with live: false', async () => {
      const hotBefore = await store.read('spring-sale');
      const patched = await call('PATCH', '/admin/rooms/spring-sale', { role: 'sre', body: { total_active_users: 77 }, baseUrl: cut.url });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ total_active_users: 77, live: false });
      expect((await sre('GET', '/admin/rooms/spring-sale')).body).toMatchObject({ total_active_users: 77 });
      expect(await store.read('spring-sale')).toEqual(hotBefore);

      const created = await call('POST', '/admin/rooms', {
        role: 'sre',
        body: { id: 'offline', origin_url: 'https://x.example', paths: ['/offline/*'] },
        baseUrl: cut.url,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: 'offline', live: false });
      expect(await store.read('offline')).toBeNull();
    });

    it('writes every hot copy again when syncAll runs on a scheduler that reaches Redis', async () => {
      const result = await scheduler.app.get(RoomsService).syncAll();
      expect(result).toEqual({ written: 3, failed: 0 });
      expect(await store.read('spring-sale')).toMatchObject({ totalActiveUsers: 77, queueAll: true });
      expect(await store.read('offline')).toEqual(ROOM_DEFAULTS);
    });

    it('deletes with live: false, leaving the hot copy to the next resync', async () => {
      const deleted = await call('DELETE', '/admin/rooms/offline', { role: 'sre', baseUrl: cut.url });
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({ id: 'offline', live: false });
      expect((await sre('GET', '/admin/rooms/offline')).status).toBe(404);
    });
  });

  it('writes every room to a fresh Redis when the scheduler boots', async () => {
    const prefix = `${redis.prefix}:fresh`;
    const booted = await startScheduler({ databaseUrl: db.url, redisPrefix: prefix }, 'api');
    try {
      const fresh = new RoomConfigStore(redis.client, new RedisKeys(prefix));
      await waitFor(async () => (await fresh.read('spring-sale')) !== null, 10_000, 'the boot sync of the hot copies');
      expect(await fresh.read('black-friday')).toMatchObject({ totalActiveUsers: 5000, queueingMethod: 'reject', queueAll: true });
      expect(await fresh.read('spring-sale')).toMatchObject({ totalActiveUsers: 77 });
      expect(await fresh.version()).toBeGreaterThan(0);
    } finally {
      await booted.close();
    }
  });
});
