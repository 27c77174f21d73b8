/** Devices, bulk import and segment estimates over HTTP against a booted scheduler (real PostgreSQL and Redis). */
import { Readable } from 'node:stream';
import type { Role } from '@tidegate/contracts';
import { PrismaService } from '@tidegate/database';
import { adminClient, adminFetch, type AdminAnswer } from '../support/admin-api';
import { startScheduler, type RunningApp } from '../support/apps';
import { createRoleKeys } from '../support/keys';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestRedis, type TestRedis } from '../support/redis';

type Json = Record<string, unknown>;
type Answer = AdminAnswer<Json & { message?: string | string[] }>;

const apnsToken = (i: number) => i.toString(16).padStart(64, '0');
const fcmToken = (i: number) => `fcm:${i.toString().padStart(12, '0')}:${'A1_-'.repeat(30)}`;
const P256DH = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
const AUTH = Buffer.alloc(16, 9).toString('base64url');
const endpoint = (i: number) => `https://fcm.googleapis.com/fcm/send/wp-${i}`;
const HEADER = 'platform,token,p256dh,auth,user_id,timezone,locale,tags,app_version';

describe('admin API: devices and segments', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let prisma: PrismaService;
  const keys: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix });
    prisma = scheduler.app.get(PrismaService);
    Object.assign(keys, await createRoleKeys(scheduler.app));
  });

  afterAll(async () => {
    await scheduler?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const { call, as } = adminClient<Answer['body']>(() => scheduler.url, keys);
  const marketer = as('marketer');
  const messages = (answer: Answer) => [answer.body.message ?? []].flat();
  const deviceCount = () => prisma.device.count();
  const importFile = (raw: string | Readable, type: string) => call('POST', '/admin/devices/import', { role: 'marketer', raw, type });

  describe('one device at a time', () => {
    let id: string;

    it('registers a device (201), and registering it again updates it (200) without a duplicate', async () => {
      const body = {
        platform: 'apns',
        token: apnsToken(1).toUpperCase(),
        user_id: 'user-1',
        timezone: 'europe/paris',
        locale: 'fr-fr',
        tags: ['vip', 'beta', 'vip'],
        app_version: '2.4.0',
      };
      const created = await marketer('POST', '/admin/devices', body);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        platform: 'apns',
        token: apnsToken(1),
        user_id: 'user-1',
        timezone: 'Europe/Paris',
        locale: 'fr-FR',
        tags: ['vip', 'beta'],
        app_version: '2.4.0',
        active: true,
        deactivated_reason: null,
        created: true,
      });
      expect(created.body.id).toMatch(/^\d+$/);
      expect(created.body).not.toHaveProperty('p256dh');
      id = created.body.id as string;

      const again = await marketer('POST', '/admin/devices', { ...body, app_version: '2.5.0' });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id, app_version: '2.5.0', created: false });
      expect(await deviceCount()).toBe(1);

      const got = await call('GET', `/admin/devices/${id}`, { role: 'viewer' });
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id, app_version: '2.5.0', timezone: 'Europe/Paris' });
    });

    it('registers fcm and webpush devices; a webpush device keeps its keys', async () => {
      const fcm = await marketer('POST', '/admin/devices', { platform: 'fcm', token: fcmToken(1) });
      expect(fcm.status).toBe(201);
      expect(fcm.body).toMatchObject({ timezone: 'UTC', tags: [], locale: null, user_id: null });
      const wp = await marketer('POST', '/admin/devices', { platform: 'webpush', token: endpoint(1), p256dh: P256DH, auth: AUTH });
      expect(wp.status).toBe(201);
      const row = await prisma.device.findUniqueOrThrow({ where: { id: BigInt(wp.body.id as string) } });
      expect(row).toMatchObject({ platform: 'webpush', token: endpoint(1), p256dh: P256DH, auth: AUTH });
    });

    it('patches some fields, and refuses an empty patch or one that changes the token', async () => {
      const patched = await marketer('PATCH', `/admin/devices/${id}`, { tags: ['churn-risk'], locale: null, timezone: 'America/New_York' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id, tags: ['churn-risk'], locale: null, timezone: 'America/New_York', user_id: 'user-1' });
      expect((await marketer('PATCH', `/admin/devices/${id}`, {})).status).toBe(400);
      const token = await marketer('PATCH', `/admin/devices/${id}`, { token: apnsToken(2) });
      expect(token.status).toBe(400);
      expect(messages(token).join()).toMatch(/property token should not exist/);
      const keysOnApns = await marketer('PATCH', `/admin/devices/${id}`, { p256dh: P256DH, auth: AUTH });
      expect(keysOnApns.status).toBe(400);
      expect(messages(keysOnApns).join()).toMatch(/p256dh is only for webpush devices/);
    });

    it('deactivates on DELETE (the row stays), and registering again reactivates', async () => {
      const deleted = await marketer('DELETE', `/admin/devices/${id}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({ id, active: false, deactivated_reason: 'deleted' });
      expect((await call('GET', `/admin/devices/${id}`, { role: 'viewer' })).body).toMatchObject({ active: false });
      const back = await marketer('POST', '/admin/devices', { platform: 'apns', token: apnsToken(1) });
      expect(back.body).toMatchObject({ id, active: true, deactivated_reason: null, created: false });
    });

    it('answers 404 for an unknown id and 400 for an id that is not digits', async () => {
      expect((await call('GET', '/admin/devices/999999', { role: 'viewer' })).status).toBe(404);
      expect((await marketer('PATCH', '/admin/devices/999999', { user_id: 'x' })).status).toBe(404);
      expect((await marketer('DELETE', '/admin/devices/999999')).status).toBe(404);
      for (const bad of ['abc', '-1', '1.5', '0', '99999999999999999999']) {
        const answer = await call('GET', `/admin/devices/${bad}`, { role: 'viewer' });
        expect(answer.status).toBe(400);
        expect(messages(answer).join()).toMatch(/^id must be a device id/);
      }
    });

    it('lets a viewer read but not write, and nobody in without a key', async () => {
      const body = { platform: 'apns', token: apnsToken(50) };
      for (const [method, path, b] of [
        ['POST', '/admin/devices', body],
        ['PATCH', `/admin/devices/${id}`, { user_id: 'x' }],
        ['DELETE', `/admin/devices/${id}`, undefined],
      ] as const) {
        const answer = await call(method, path, { role: 'viewer', body: b });
        expect(answer.status).toBe(403);
        expect(messages(answer).join()).toMatch(/needs the marketer role/);
        expect((await call(method, path, { body: b })).status).toBe(401);
      }
      expect((await call('POST', '/admin/devices/import', { role: 'viewer', raw: `${HEADER}\n`, type: 'text/csv' })).status).toBe(403);
      expect((await call('POST', '/admin/devices/import', { raw: `${HEADER}\n`, type: 'text/csv' })).status).toBe(401);
      expect((await call('GET', `/admin/devices/${id}`)).status).toBe(401);
      expect((await call('POST', '/admin/segments/estimate', { body: {} })).status).toBe(401);
      expect(await prisma.device.count({ where: { token: apnsToken(50) } })).toBe(0);
    });

    const apns = { platform: 'apns', token: apnsToken(77) };
    const wp = { platform: 'webpush', token: endpoint(77), p256dh: P256DH, auth: AUTH };
    it.each([
      ['no platform', { token: apnsToken(77) }, 'platform', /^platform must be one of fcm, apns, webpush/],
      ['an unknown platform', { ...apns, platform: 'hms' }, 'platform', /^platform must be one of/],
      ['no token', { platform: 'apns' }, 'token', /^token must be a non-empty string/],
      ['an APNs token too short', { ...apns, token: 'ab'.repeat(31) }, 'token', /^token must be an APNs device token/],
      ['an APNs token not hex', { ...apns, token: 'z'.repeat(64) }, 'token', /^token must be an APNs device token/],
      ['an FCM token too short', { platform: 'fcm', token: 'abc' }, 'token', /^token must be an FCM registration token/],
      ['an FCM token with a space', { platform: 'fcm', token: `${'a'.repeat(120)} b` }, 'token', /^token must be an FCM/],
      ['an http endpoint', { ...wp, token: 'http://push.example.com/x' }, 'token', /^token must use https/],
      ['an IP-literal endpoint', { ...wp, token: 'https://10.0.0.1/x' }, 'token', /^token must name its host, not an IP/],
      ['a numeric-host endpoint', { ...wp, token: 'https://2130706433/x' }, 'token', /^token must name its host, not an IP/],
      ['an IPv6 endpoint', { ...wp, token: 'https://[::1]:8443/x' }, 'token', /^token must name its host, not an IP/],
      ['a localhost endpoint', { ...wp, token: 'https://localhost/x' }, 'token', /^token must be a public push service host/],
      ['a single-label endpoint', { ...wp, token: 'https://redis/x' }, 'token', /^token must be a public push service host/],
      ['a relative endpoint', { ...wp, token: '/push/x' }, 'token', /^token must be an absolute https URL/],
      ['webpush without p256dh', { ...wp, p256dh: undefined }, 'p256dh', /^p256dh is required for webpush/],
      ['a p256dh of 64 bytes', { ...wp, p256dh: Buffer.alloc(64, 4).toString('base64url') }, 'p256dh', /^p256dh must be base64url of 65/],
      ['an auth of 8 bytes', { ...wp, auth: Buffer.alloc(8).toString('base64url') }, 'auth', /^auth must be base64url of 16 bytes/],
      ['keys on an apns device', { ...apns, auth: AUTH }, 'auth', /^auth is only for webpush devices/],
      ['an unknown time zone', { ...apns, timezone: 'Mars/Olympus' }, 'timezone', /^timezone must be an IANA time zone/],
      ['a bad locale', { ...apns, locale: 'not a locale!' }, 'locale', /^locale must be a BCP 47 language tag/],
      ['a bad tag', { ...apns, tags: ['ok', 'Not OK'] }, 'tags', /^tags \[1\] "Not OK" must be 1 to 64 characters/],
      ['51 tags', { ...apns, tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, 'tags', /^tags must hold at most 50 tags/],
      ['an app_version too long', { ...apns, app_version: 'x'.repeat(33) }, 'app_version', /^app_version must be at most 32/],
      ['a user_id too long', { ...apns, user_id: 'u'.repeat(129) }, 'user_id', /^user_id must be at most 128/],
      ['an unknown property', { ...apns, last_seen_at: '2026-01-01T00:00:00Z' }, 'last_seen_at', /^property last_seen_at should not exist/],
    ])('answers 400 to a device with %s, naming the field, and writes nothing', async (_what, body, field, why) => {
      const before = await deviceCount();
      const answer = await marketer('POST', '/admin/devices', body);
      expect(answer.status).toBe(400);
      expect(messages(answer)).toEqual(expect.arrayContaining([expect.stringMatching(why)]));
      expect(messages(answer).every((m) => m.includes(field))).toBe(true);
      expect(await deviceCount()).toBe(before);
    });
  });

  describe('bulk import', () => {
    it('imports a CSV with good and bad rows, reporting each bad row by line and field', async () => {
      const csv = [
        HEADER,
        `apns,${apnsToken(100)},,,u100,Europe/Paris,fr-FR,vip|beta,1.0`,
        `apns,${apnsToken(101).slice(0, 10)},,,,,,,`,
        '',
        `webpush,${endpoint(102)},${P256DH},${AUTH},"u,102",UTC,en-US,,2.0`,
        `fcm,${fcmToken(103)},,,,Mars/Olympus,,Bad Tag,`,
        `fcm,${fcmToken(104)},,,`,
        `webpush,https://127.0.0.1/x,${P256DH},,,,,,`,
        `"unterminated,${fcmToken(105)},,,,,,,`,
        `fcm,${fcmToken(106)},,,,,,,3.0`,
      ].join('\r\n');
      const answer = await importFile(csv, 'text/csv; charset=utf-8');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ rows: 8, accepted: 3, rejected: 5, inserted: 3, updated: 0, rejectedTotal: 5 });
      expect(answer.body.errors).toEqual([
        { line: 3, field: 'token', message: expect.stringMatching(/^token must be an APNs device token/) as unknown },
        { line: 6, field: 'timezone', message: expect.stringMatching(/^timezone must be an IANA/) as unknown },
        { line: 6, field: 'tags', message: expect.stringMatching(/^tags \[0\] "Bad Tag"/) as unknown },
        { line: 7, field: 'row', message: 'has 5 fields, the header has 9' },
        { line: 8, field: 'token', message: expect.stringMatching(/not an IP address/) as unknown },
        { line: 8, field: 'auth', message: expect.stringMatching(/^auth is required for webpush/) as unknown },
        { line: 9, field: 'row', message: expect.stringMatching(/quoted field is not closed/) as unknown },
      ]);
      expect(answer.body.errorsTotal).toBe(7);
      const wp = await prisma.device.findFirstOrThrow({ where: { token: endpoint(102) } });
      expect(wp).toMatchObject({ userId: 'u,102', locale: 'en-US', p256dh: P256DH, auth: AUTH, appVersion: '2.0' });
      const apns = await prisma.device.findFirstOrThrow({ where: { token: apnsToken(100) } });
      expect(apns).toMatchObject({ tags: ['vip', 'beta'], timezone: 'Europe/Paris', locale: 'fr-FR', userId: 'u100' });

      // Importing again updates, never duplicates.
      const count = await deviceCount();
      const again = await importFile(csv, 'text/csv');
      expect(again.body).toMatchObject({ accepted: 3, rejected: 5, inserted: 0, updated: 3 });
      expect(await deviceCount()).toBe(count);
    });

    it('takes CSV columns in any order, with last_seen_at', async () => {
      const csv = `token,platform,last_seen_at,tags\n${apnsToken(110)},apns,2026-01-02T03:04:05Z,a|b\n`;
      const answer = await importFile(csv, 'text/csv');
      expect(answer.body).toMatchObject({ accepted: 1, inserted: 1, rejected: 0 });
      const row = await prisma.device.findFirstOrThrow({ where: { token: apnsToken(110) } });
      expect(row.lastSeenAt?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
      expect(row.tags).toEqual(['a', 'b']);
    });

    it('imports NDJSON with good and bad lines', async () => {
      const lines = [
        JSON.stringify({ platform: 'fcm', token: fcmToken(200), tags: ['x'], user_id: 'u200', app_version: '1' }),
        '{"platform": "fcm", "token": ',
        JSON.stringify({ platform: 'apns', token: apnsToken(201), locale: 'de-DE', extra: 1 }),
        '',
        JSON.stringify([1, 2]),
        JSON.stringify({ platform: 'apns', token: apnsToken(202), timezone: 'Asia/Tokyo', tags: 'not-an-array' }),
        JSON.stringify({ platform: 'webpush', token: endpoint(203), p256dh: P256DH, auth: AUTH, locale: null }),
      ].join('\n');
      const answer = await importFile(lines, 'application/x-ndjson');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ rows: 6, accepted: 2, rejected: 4, inserted: 2 });
      expect(answer.body.errors).toEqual([
        { line: 2, field: 'row', message: expect.stringMatching(/^is not JSON/) as unknown },
        { line: 3, field: 'extra', message: 'extra is not a device field' },
        { line: 5, field: 'row', message: 'must be a JSON object' },
        { line: 6, field: 'tags', message: 'tags must be an array of tags' },
      ]);
      expect(await prisma.device.count({ where: { token: { in: [fcmToken(200), endpoint(203)] } } })).toBe(2);
    });

    it('answers 415 to other media types, 400 to an empty upload or a bad CSV header, and writes nothing', async () => {
      const before = await deviceCount();
      const json = await importFile(JSON.stringify({ platform: 'apns', token: apnsToken(300) }), 'application/json');
      expect(json.status).toBe(415);
      expect((await importFile('a b c', 'text/plain')).status).toBe(415);
      expect((await call('POST', '/admin/devices', { role: 'marketer', raw: `${HEADER}\n`, type: 'text/csv' })).status).toBe(415);
      expect((await importFile('', 'text/csv')).status).toBe(400);
      expect((await importFile('', 'application/x-ndjson')).status).toBe(400);
      expect((await importFile('\n\n', 'application/x-ndjson')).status).toBe(400);
      const header = await importFile(`platform,token,color\napns,${apnsToken(301)},red\n`, 'text/csv');
      expect(header.status).toBe(400);
      expect(messages(header).join()).toMatch(/unknown column\(s\) "color"/);
      const noToken = await importFile(`platform,user_id\napns,u1\n`, 'text/csv');
      expect(noToken.status).toBe(400);
      expect(messages(noToken).join()).toMatch(/needs a token column/);
      expect(await deviceCount()).toBe(before);
    });

    it('streams a body far above the 1 MiB body limit, skipping over-long lines without buffering them', async () => {
      const long = `{"platform":"fcm","token":"${'x'.repeat(20_000)}"}\n`;
      const chunks = 5_500; // ~110 MB
      const good = JSON.stringify({ platform: 'apns', token: apnsToken(400) });
      const source = Readable.from(
        (function* () {
          for (let i = 0; i < chunks; i++) yield long;
          yield `${good}\n`;
        })(),
      );
      const answer = await importFile(source, 'application/x-ndjson');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ rows: chunks + 1, accepted: 1, rejected: chunks, errorsTotal: chunks });
      expect((answer.body.errors as unknown[]).length).toBe(1000);
      expect((answer.body.errors as Json[])[0]).toEqual({ line: 1, field: 'row', message: 'is longer than 16384 characters' });
    });
    it('stops cleanly when the client disconnects mid-upload, keeping the batches already written', async () => {
      const before = await deviceCount();
      const controller = new AbortController();
      let sent = 0;
      const source = Readable.from(
        (async function* () {
          yield `${HEADER}\n`;
          for (let i = 0; i < 1_000_000; i++) {
            if (i % 1000 === 0) {
              if (sent >= 10_000) {
                controller.abort();
                await new Promise((resolve) => setTimeout(resolve, 60_000).unref()); // never resumes: the request is gone
              }
              await new Promise((resolve) => setImmediate(resolve));
            }
            sent++;
            yield `apns,${apnsToken(5_000_000 + i)},,,,,,,\n`;
          }
        })(),
      );
      const request = adminFetch(scheduler.url, 'POST', '/admin/devices/import', {
        key: keys.marketer!,
        raw: source,
        type: 'text/csv',
        signal: controller.signal,
      });
      await expect(request).rejects.toThrow();
      source.destroy();
      // What was written stays; nothing past what was sent; the app keeps serving.
      let count = -1;
      for (let i = 0; i < 100; i++) {
        const now = await deviceCount();
        if (now === count) break;
        count = now;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(count - before).toBeLessThanOrEqual(sent);
      expect(count - before).toBeGreaterThan(0);
      expect((await call('GET', '/admin/devices/1', { role: 'viewer' })).status).toBe(200);
      const after = await importFile(`${HEADER}\napns,${apnsToken(6_000_000)},,,,,,,\n`, 'text/csv');
      expect(after.body).toMatchObject({ accepted: 1, inserted: 1 });
    });
  });

  describe('segments and a 200,000-device import', () => {
    const N = 200_000;
    const PLATFORMS = ['fcm', 'apns', 'webpush'] as const;
    const LOCALES = ['en-US', 'fr-FR', 'de-DE', 'es-ES', 'ja-JP'];
    const ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'UTC'];
    const line = (i: number) => {
      const platform = PLATFORMS[i % 3]!;
      const token = platform === 'apns' ? apnsToken(1_000_000 + i) : platform === 'fcm' ? fcmToken(1_000_000 + i) : endpoint(1_000_000 + i);
      const keys = platform === 'webpush' ? `${P256DH},${AUTH}` : ',';
      const tags = [i % 10 === 0 ? 'vip' : '', i % 2 === 0 ? 'even' : 'odd'].filter(Boolean).join('|');
      return `${platform},${token},${keys},user-${i},${ZONES[i % 4]},${LOCALES[i % 5]},${tags},3.${i % 7}`;
    };
    /** The CSV, generated as it is read: never held in memory whole. */
    const csvStream = () =>
      Readable.from(
        (function* () {
          yield `${HEADER}\n`;
          for (let start = 0; start < N; start += 1000) {
            let chunk = '';
            for (let i = start; i < Math.min(start + 1000, N); i++) chunk += `${line(i)}\n`;
            yield chunk;
          }
        })(),
      );

    it('counts a small table exactly', async () => {
      const total = await prisma.device.count({ where: { active: true } });
      const all = await call('POST', '/admin/segments/estimate', { role: 'viewer', body: {} });
      expect(all.status).toBe(200);
      expect(all.body).toEqual({ estimate: total, exact: true, method: 'count' });
      const vip = await call('POST', '/admin/segments/estimate', { role: 'viewer', body: { tagsAll: ['vip'], platforms: ['apns'] } });
      expect(vip.body).toEqual({
        estimate: await prisma.device.count({ where: { tags: { has: 'vip' }, platform: 'apns', active: true } }),
        exact: true,
        method: 'count',
      });
    });

    it('refuses a bad segment with 400 naming each field', async () => {
      const answer = await call('POST', '/admin/segments/estimate', {
        role: 'viewer',
        body: { platforms: ['hms'], tagsAny: [], locales: ['??'], timezones: ['Nowhere/City'], lastSeenAfter: 'yesterday' },
      });
      expect(answer.status).toBe(400);
      const text = messages(answer).join(' | ');
      for (const field of ['platforms[0]', 'tagsAny', 'locales[0]', 'timezones[0]', 'lastSeenAfter']) expect(text).toContain(field);
      const unknown = await call('POST', '/admin/segments/estimate', { role: 'viewer', body: { color: 'red' } });
      expect(unknown.status).toBe(400);
      expect(messages(unknown)).toEqual(['property color should not exist']);
      const range = await call('POST', '/admin/segments/estimate', {
        role: 'viewer',
        body: { lastSeenAfter: '2026-02-01T00:00:00Z', lastSeenBefore: '2026-01-01T00:00:00+01:00' },
      });
      expect(messages(range)).toEqual(['lastSeenBefore must be later than lastSeenAfter']);
    });

    it(`imports ${N.toLocaleString('en')} devices streamed from a generator, then re-imports them as updates`, async () => {
      const before = await deviceCount();
      const started = Date.now();
      const answer = await importFile(csvStream(), 'text/csv');
      const seconds = (Date.now() - started) / 1000;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ rows: N, accepted: N, rejected: 0, inserted: N, updated: 0, errors: [] });
      expect(await deviceCount()).toBe(before + N);
      process.stdout.write(
        `imported ${N} devices in ${seconds.toFixed(1)} s: ${Math.round(N / seconds)} rows/s (server: ${String(answer.body.durationMs)} ms)\n`,
      );

      const again = await importFile(csvStream(), 'text/csv');
      expect(again.body).toMatchObject({ accepted: N, inserted: 0, updated: N });
      expect(await deviceCount()).toBe(before + N);
    });

    it('estimates a selective segment on the large table from the planner, within a factor of 2', async () => {
      for (const segment of [
        { tagsAll: ['vip'], platforms: ['apns'] },
        { locales: ['ja-JP'], timezones: ['Asia/Tokyo'] },
        { tagsAny: ['vip'], platforms: ['webpush'] },
      ]) {
        const answer = await call('POST', '/admin/segments/estimate', { role: 'viewer', body: segment });
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ exact: false, method: 'planner' });
        const [row] = await prisma.$queryRawUnsafe<Array<{ n: bigint }>>(
          'SELECT count(*) AS n FROM devices WHERE active AND ' +
            (segment.tagsAll
              ? `tags @> '{vip}' AND platform = 'apns'`
              : segment.tagsAny
                ? `tags && '{vip}' AND platform = 'webpush'`
                : `locale = 'ja-JP' AND timezone = 'Asia/Tokyo'`),
        );
        const actual = Number(row!.n);
        const estimate = answer.body.estimate as number;
        process.stdout.write(`segment ${JSON.stringify(segment)}: estimate ${estimate}, actual ${actual}\n`);
        expect(estimate).toBeGreaterThanOrEqual(actual / 2);
        expect(estimate).toBeLessThanOrEqual(actual * 2);
      }
    });
  });
});
