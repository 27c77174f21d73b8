/**
 * The admin API against arbitrary bodies (fast-check; the seed prints on failure): valid bodies of campaigns, rooms,
 * devices and API keys with fields replaced by arbitrary JSON, removed or added, whole arbitrary JSON values, and text
 * that is not JSON. Never a 5xx; a 4xx writes nothing (row counts, the patched row and the Redis keys are unchanged).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { PrismaService } from '@tidegate/database';
import { adminFetch } from '../support/admin-api';
import { startScheduler, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { countByPattern, createTestRedis, type TestRedis } from '../support/redis';

jest.setTimeout(120_000);

type Json = unknown;
const RUNS = 100;

/** A path into a JSON value: the keys (or indexes) from its root. */
function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

type Mutation = { path: Array<string | number>; op: 'replace' | 'delete' | 'add'; value: Json; key: string };

function apply(body: Json, m: Mutation): Json {
  if (m.path.length === 0) return m.op === 'replace' ? structuredClone(m.value) : body;
  const parent = m.path.slice(0, -1).reduce<Json>((node, k) => (node as Record<string | number, Json> | undefined)?.[k], body) as
    Record<string | number, Json> | undefined;
  if (!parent || typeof parent !== 'object') return body;
  const last = m.path[m.path.length - 1]!;
  // A copy: the edge values are shared instances, and one placed twice (or into itself) would make the body cyclic.
  const value = structuredClone(m.value);
  if (m.op === 'replace') parent[last] = value;
  else if (m.op === 'delete') delete parent[last];
  else if (typeof parent[last] === 'object' && parent[last] !== null) add(parent[last] as Record<string, Json>, m.key, value);
  else add(parent, m.key, value);
  return body;
}

/** A new member: an array gets one more element (a key such as "length" would throw or cut it), an object the key. */
function add(target: Record<string | number, Json> | Json[], key: string, value: Json): void {
  if (Array.isArray(target)) target.push(value);
  else target[key] = value;
}

/**
 * A valid body as it is, or changed by one to three mutations, or any JSON value at all. The valid body as it is keeps
 * "accepted sometimes" from hanging on luck (each route's valid body must be one the API accepts as it is).
 */
function bodies(valid: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  const json = fc.jsonValue({ maxDepth: 3 });
  const edge = fc.constantFrom<Json>(null, '', 0, -1, 1e308, 2 ** 53, 1.5, true, [], {}, 'x'.repeat(5000), '\u0000', '__proto__', ['a']);
  const value = fc.oneof(json, edge);
  const mutatedValid = valid.chain((body) => {
    const paths = pathsOf(body);
    const mutation = fc.record({
      path: fc.constantFrom(...paths),
      op: fc.constantFrom<Mutation['op']>('replace', 'delete', 'add'),
      value,
      key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'id', 'status')),
    });
    return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce(apply, structuredClone(body)));
  });
  return fc.oneof(
    { weight: 1, arbitrary: valid.map((body) => structuredClone(body)) },
    { weight: 4, arbitrary: mutatedValid },
    { weight: 1, arbitrary: json },
  );
}

const isJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
const slug = fc.stringMatching(/^[a-z][a-z0-9-]{2,20}$/);
const fcmToken = fc.stringMatching(/^[A-Za-z0-9_:-]{140,160}$/);

describe('the admin API against arbitrary bodies', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let prisma: PrismaService;
  let keys: Record<string, string>;
  let campaignId: string;
  let deviceId: string;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    prisma = scheduler.app.get(PrismaService);
    keys = await createRoleKeys(scheduler.app);
    const post = async (path: string, body: unknown) => {
      const res = await adminFetch(scheduler.url, 'POST', path, { key: keys.sre, body });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string };
    };
    campaignId = (await post('/admin/campaigns', validCampaign())).id;
    deviceId = (await post('/admin/devices', { platform: 'apns', token: 'ab'.repeat(32), tags: ['vip'] })).id;
    await post('/admin/rooms', { id: 'fixed', name: 'Fixed', origin_url: 'https://shop.example', paths: ['/sale/*'] });
  });

  afterAll(async () => {
    await scheduler?.close();
    await Promise.all([redis?.cleanup(), db?.drop()]);
  });

  function validCampaign(room: string | null = null): Json {
    return {
      name: 'Spring sale',
      message: {
        title: 'Sale',
        body: 'Now on',
        deep_link: 'https://app.example/sale',
        data: { k: 'v' },
        ttl_seconds: 3600,
        overrides: { fcm: { title: 'F' }, apns: { title: 'A' }, webpush: { title: 'W', urgency: 'high' } },
      },
      audience: { segment: { tagsAll: ['vip'], platforms: ['fcm', 'apns'] } },
      schedule: {
        start_at: null,
        send_window: { start: '09:00', end: '21:00', timezone: 'Europe/Paris' },
        quiet_hours: { start: '22:00', end: '08:00' },
      },
      wave_plan: {
        batch_size: 100,
        wave_size: 1000,
        interval_seconds: 60,
        max_wait_seconds: 120,
        pacing: true,
        rate_limits: { global: 100, campaign: 50, per_provider: { fcm: 10 } },
      },
      room_id: room,
    };
  }

  /** What a refused request must leave as it was. */
  async function snapshot(): Promise<string> {
    const rows = await prisma.$queryRawUnsafe<unknown[]>(
      `SELECT (SELECT count(*) FROM api_keys) AS keys, (SELECT count(*) FROM campaigns) AS campaigns,
              (SELECT count(*) FROM rooms) AS rooms, (SELECT count(*) FROM devices) AS devices,
              (SELECT count(*) FROM campaign_events) AS events, (SELECT count(*) FROM setting_changes) AS changes,
              (SELECT to_jsonb(c)::text FROM campaigns c WHERE id = $1::uuid) AS campaign,
              (SELECT to_jsonb(d)::text FROM devices d WHERE id = $2::bigint) AS device,
              (SELECT to_jsonb(r)::text FROM rooms r WHERE id = 'fixed') AS room`,
      campaignId,
      deviceId,
    );
    const redisKeys = await countByPattern(redis.client, redis.keys.everything);
    return JSON.stringify(rows, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + `|redis:${redisKeys}`;
  }

  /** Sends `body` (JSON, or raw text); never a 5xx, and a 4xx writes nothing. Returns the status. */
  async function check(method: string, path: string, body: Json, raw = false): Promise<number> {
    const before = await snapshot();
    const res = await adminFetch(scheduler.url, method, path, raw ? { key: keys.sre, raw: body as string } : { key: keys.sre, body });
    const text = await res.text();
    if (res.status >= 500) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    if (res.status >= 400) expect(await snapshot()).toBe(before);
    return res.status;
  }

  /** The property on one route; the valid bodies must be accepted sometimes and the mutated ones refused sometimes. */
  async function property(method: string, path: () => string, arbitrary: fc.Arbitrary<Json>): Promise<void> {
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(arbitrary, async (body) => void statuses.push(await check(method, path(), body))),
      { numRuns: RUNS },
    );
    expect(statuses.some((s) => s < 300)).toBe(true);
    expect(statuses.some((s) => s >= 400)).toBe(true);
  }

  it('POST /admin/campaigns', () =>
    property('POST', () => '/admin/campaigns', bodies(fc.constantFrom(validCampaign(), validCampaign('fixed')))));

  it('PATCH /admin/campaigns/:id', () =>
    property(
      'PATCH',
      () => `/admin/campaigns/${campaignId}`,
      bodies(fc.constant({ name: 'Renamed', room_id: 'fixed', wave_plan: { batch_size: 50 } })),
    ));

  it('POST /admin/rooms', () =>
    property(
      'POST',
      () => '/admin/rooms',
      bodies(
        slug.map((id) => ({
          id,
          name: 'Room',
          origin_url: 'https://shop.example',
          // Paths of its own: a path another room protects already ('/sale/*' is the fixed room's) is refused (409),
          // and the valid body, as it is, was refused every time (CI failed once with no body accepted in 100 runs).
          paths: [`/${id}/*`, `/${id}-cart`],
          total_active_users: 100,
          new_users_per_minute: 60,
          session_duration_seconds: 600,
          queueing_method: 'fifo',
          queue_all: false,
          suspended: false,
          max_wait_seconds: 300,
        })),
      ),
    ));

  it('PATCH /admin/rooms/:id', () =>
    property('PATCH', () => '/admin/rooms/fixed', bodies(fc.constant({ total_active_users: 50, message: 'Hi', paths: ['/sale/*'] }))));

  it('POST /admin/devices', () =>
    property(
      'POST',
      () => '/admin/devices',
      bodies(
        fcmToken.map((token) => ({
          platform: 'fcm',
          token,
          user_id: 'u1',
          timezone: 'Europe/Paris',
          locale: 'fr-FR',
          tags: ['vip'],
          app_version: '2.4.0',
        })),
      ),
    ));

  it('PATCH /admin/devices/:id', () =>
    property('PATCH', () => `/admin/devices/${deviceId}`, bodies(fc.constant({ tags: ['a', 'b'], locale: 'en-US', user_id: null }))));

  it('POST /admin/api-keys', () => property('POST', () => '/admin/api-keys', bodies(fc.constant({ name: 'bot', role: 'viewer' }))));

  it('bodies that are not JSON, on every route above', async () => {
    const routes = [
      '/admin/campaigns',
      `/admin/campaigns/${campaignId}`,
      '/admin/rooms',
      '/admin/rooms/fixed',
      '/admin/devices',
      `/admin/devices/${deviceId}`,
      '/admin/api-keys',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.string({ maxLength: 200, unit: 'binary' }), async (route, text) => {
        fc.pre(!isJson(text));
        await check(route.split('/').length > 3 ? 'PATCH' : 'POST', route, text, true);
      }),
      { numRuns: RUNS },
    );
  });

  it('every other JSON body of the committed OpenAPI document, on the real campaign, room and device or unknown ids', async () => {
    interface Operation {
      requestBody?: { content: Record<string, unknown> };
    }
    const doc = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../openapi/scheduler.json'), 'utf8')) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const covered = new Set([
      'POST /admin/campaigns',
      'PATCH /admin/campaigns/{id}',
      'POST /admin/rooms',
      'PATCH /admin/rooms/{id}',
      'POST /admin/devices',
      'PATCH /admin/devices/{id}',
      'POST /admin/api-keys',
    ]);
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([m, op]) => op.requestBody?.content['application/json'] !== undefined && !covered.has(`${m.toUpperCase()} ${p}`))
        .map(([m]) => ({ method: m.toUpperCase(), path: p })),
    );
    expect(routes.length).toBeGreaterThan(10);
    const concrete = (p: string, real: boolean) =>
      p.replace('{id}', () =>
        !real ? randomUUID() : p.startsWith('/admin/rooms') ? 'fixed' : p.startsWith('/admin/devices') ? deviceId : campaignId,
      );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.boolean(), fc.jsonValue({ maxDepth: 3 }), async (route, real, body) => {
        await check(route.method, concrete(route.path, real), body);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary ids in the path of every route that takes one', async () => {
    const id = fc.oneof(fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }), fc.constant(randomUUID()), fc.bigInt().map(String));
    const routes = [
      '/admin/campaigns/:id',
      '/admin/campaigns/:id/stats',
      '/admin/rooms/:id',
      '/admin/rooms/:id/status',
      '/admin/devices/:id',
      '/admin/api-keys/:id',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.constantFrom('GET', 'PATCH', 'DELETE'), id, async (route, method, value) => {
        await check(method, route.replace(':id', encodeURIComponent(value)), method === 'PATCH' ? {} : undefined);
      }),
      { numRuns: RUNS },
    );
  });
});
