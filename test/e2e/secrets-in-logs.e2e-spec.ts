/**
 * No secret reaches a log line. The built apps run as processes at the most verbose level (LOG_LEVEL=trace): the
 * scheduler's API and worker, a gateway and a ws app, with real-looking secrets (a freshly generated FCM service
 * account key, APNs .p8 key, VAPID key pair, ticket and wave-ticket secrets, an ES256 admission key, API keys, a
 * password in DATABASE_URL). A campaign goes to the providers' fakes; its recipients tap (wave tickets in a header, a
 * query parameter and a cookie), wait in a full room over the JSON API and socket.io, are admitted, browse with their
 * token and leave; forged tickets, tokens and keys are tried too. Then every line the four processes wrote (stdout
 * and stderr) is searched for each secret, for 16-character slices of it (a PEM body, a token's signature), and for
 * the shapes of credentials (JWTs, API keys, PEM headers, OAuth access tokens). Any hit fails, naming the line.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { generateApiKey } from '@tidegate/auth';
import type { Admitted } from '@tidegate/contracts';
import { adminFetch, adminRequest } from '../support/admin-api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { redisEnv } from '../support/env';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { freePort, httpStatus, spawnApp, waitFor, type Proc } from '../support/processes';
import { startPushFakes, type PushFakes } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';
import { FakeApns } from '../fakes';

jest.setTimeout(180_000);

/* eslint-disable @typescript-eslint/no-explicit-any -- free-form JSON answers */
type Json = Record<string, any>;

const random = (bytes: number) => randomBytes(bytes).toString('base64url');
const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\\n|\s/g, '');

/** A real-looking FCM registration token: `<instance id>:APA91b<random>`. */
const fcmToken = () =>
  `${random(16).slice(0, 22)}:APA91b${random(120)
    .replace(/[^A-Za-z0-9_-]/g, '')
    .slice(0, 134)}`;

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Credential shapes no log line may hold, whoever's they are. */
const SHAPES: Array<[string, RegExp]> = [
  ['a JWT', /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/],
  ['an admin API key', /tg_[A-Za-z0-9]{8}_[A-Za-z0-9]{32,}/],
  ['a PEM private key', /BEGIN [A-Z ]*PRIVATE KEY/],
  ['an OAuth access token', /ya29\.[A-Za-z0-9._-]{8,}/],
];

describe('no secret in any log line of a campaign and a surge', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let fakes: PushFakes;
  let origin: FakeOrigin;
  const procs: Array<{ name: string; proc: Proc }> = [];
  /** What must never be logged: a label for the report, the secret, and the parts of it that identify it. */
  const secrets: Array<{ label: string; value: string; parts: string[] }> = [];
  const secret = (label: string, value: string, distinctive: string = value) => {
    secrets.push({ label, value, parts: slices(distinctive) });
    return value;
  };
  let api: string;
  let gateway: string;
  let ws: string;
  const bootstrapKey = generateApiKey().key;
  const keys: Record<'marketer' | 'viewer', string> = { marketer: '', viewer: '' };

  /** 16-character slices every 4 characters, and the tail. */
  function slices(s: string): string[] {
    if (s.length <= 16) return [s];
    const out: string[] = [];
    for (let i = 0; i + 16 <= s.length; i += 4) out.push(s.slice(i, i + 16));
    out.push(s.slice(-16));
    return out;
  }

  /** Every line holding a secret, a part of one, or a credential's shape, named. */
  function leaks(outputs: Array<{ name: string; lines: string[] }>): string[] {
    const hits: string[] = [];
    for (const { name, lines } of outputs) {
      for (const [n, line] of lines.entries()) {
        const where = `${name} line ${n + 1}: ${line.slice(0, 300)}`;
        for (const s of secrets) {
          const part = [s.value, ...s.parts].find((p) => line.includes(p));
          if (part) hits.push(`${s.label} (${part}) in ${where}`);
        }
        for (const [what, shape] of SHAPES) if (shape.test(line)) hits.push(`${what} in ${where}`);
      }
    }
    return hits;
  }

  beforeAll(async () => {
    [db, redis, fakes, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startPushFakes(), startFakeOrigin()]);
    const dbUrl = new URL(db.url);
    dbUrl.password = secret('the DATABASE_URL password', `Pg${random(18)}`);
    const admissionKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const shared = {
      DATABASE_URL: dbUrl.toString(),
      ...redisEnv(),
      REDIS_KEY_PREFIX: redis.prefix,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'trace',
      DATABASE_POOL_SIZE: '3',
    };
    const waveSecret = secret('WAVE_TICKET_SECRET', random(32));
    const admission = {
      TICKET_SECRET: secret('TICKET_SECRET', random(32)),
      ADMISSION_SIGNING_KEY: secret('ADMISSION_SIGNING_KEY', admissionKey, pemBody(admissionKey)),
      WAVE_TICKET_SECRET: waveSecret,
    };
    const account = JSON.parse(fakes.env.FCM_SERVICE_ACCOUNT as string) as { private_key: string };
    secret('the FCM service account private key', account.private_key, pemBody(account.private_key));
    secret('the APNs .p8 key', fakes.env.APNS_KEY as string, pemBody(fakes.env.APNS_KEY as string));
    secret('VAPID_PRIVATE_KEY', fakes.env.VAPID_PRIVATE_KEY as string);
    secret('BOOTSTRAP_API_KEY', bootstrapKey, bootstrapKey.slice(12));

    const [apiPort, workerPort, gatewayPort, wsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    api = `http://127.0.0.1:${apiPort}`;
    gateway = `http://127.0.0.1:${gatewayPort}`;
    ws = `http://127.0.0.1:${wsPort}`;
    const scheduler = { ...shared, WAVE_TICKET_SECRET: waveSecret, STATS_FLUSH_MS: '300' };
    procs.push(
      {
        name: 'scheduler-api',
        proc: spawnApp('scheduler', { ...scheduler, SCHEDULER_PORT: String(apiPort), BOOTSTRAP_API_KEY: bootstrapKey }, ['--role=api']),
      },
      {
        name: 'scheduler-worker',
        proc: spawnApp('scheduler', { ...scheduler, ...fakes.env, SCHEDULER_PORT: String(workerPort) }, ['--role=worker']),
      },
      {
        name: 'gateway',
        proc: spawnApp('gateway', {
          ...shared,
          ...admission,
          GATEWAY_PORT: String(gatewayPort),
          WS_PUBLIC_URL: ws,
          RELEASE_INTERVAL_MS: '100',
          ROOMS_REFRESH_MS: '200',
          THROTTLE_LIMIT: '1000',
        }),
      },
      {
        name: 'ws',
        proc: spawnApp('ws', { ...shared, ...admission, WS_PORT: String(wsPort), WS_TICK_MS: '100', WS_POSITION_INTERVAL_MS: '100' }),
      },
    );
    const urls = [api, `http://127.0.0.1:${workerPort}`, gateway, ws];
    for (const [i, { name, proc }] of procs.entries()) {
      await waitFor(async () => (await httpStatus(`${urls[i]}/health/ready`)) === 200, 30_000, `${name} to be ready`).catch(
        (err: Error) => {
          throw new Error(`${err.message}; its output:\n${proc.output()}`);
        },
      );
    }
  });

  afterAll(async () => {
    await Promise.all(procs.map(({ proc }) => proc.stop()));
    await Promise.all([fakes?.close(), origin?.close(), redis?.cleanup(), db?.drop()]);
  });

  const admin = async (key: string, method: string, path: string, body?: unknown) => {
    const answer = await adminRequest(api, method, path, { key, body });
    return answer as { status: number; body: Json };
  };

  it('runs a campaign and a surge with real-looking credentials, and no process logs any of them', async () => {
    // Keys: made through the API (shown once), a wrong one, and a revoked one.
    for (const role of ['marketer', 'viewer'] as const) {
      const made = await admin(bootstrapKey, 'POST', '/admin/api-keys', { name: `${role} bot`, role });
      expect(made.status).toBe(201);
      keys[role] = secret(`the ${role} API key`, made.body.key as string, (made.body.key as string).slice(12));
    }
    const unknown = secret('an unknown API key', generateApiKey().key);
    expect((await adminFetch(api, 'GET', '/admin/whoami', { key: unknown })).status).toBe(401);
    expect((await adminFetch(api, 'GET', '/admin/whoami', { headers: { 'x-api-key': `${keys.viewer}x` } })).status).toBe(401);
    const revoked = await admin(bootstrapKey, 'POST', '/admin/api-keys', { name: 'revoked', role: 'sre' });
    secret('a revoked API key', revoked.body.key as string, (revoked.body.key as string).slice(12));
    expect((await admin(bootstrapKey, 'DELETE', `/admin/api-keys/${revoked.body.id as string}`)).status).toBe(200);
    expect((await admin(revoked.body.key as string, 'GET', '/admin/whoami')).status).toBe(401);

    // A room with one place, taken by its first visitor: everyone after waits.
    const room = {
      id: 'shop',
      name: 'Shop',
      origin_url: origin.url,
      paths: ['/shop/*'],
      total_active_users: 1,
      new_users_per_minute: 6000,
    };
    expect((await admin(bootstrapKey, 'POST', '/admin/rooms', room)).status).toBe(201);
    await waitFor(
      async () => (await fetch(`${gateway}/shop/home`, { headers: { accept: 'application/json' } })).headers.get('x-origin') === 'fake',
      10_000,
      'the room to open',
    );

    // Devices through every door: two registered, an NDJSON and a CSV import (with a bad row), Web Push in SQL.
    const fcm = [fcmToken(), fcmToken(), fcmToken(), fcmToken()];
    const apns = [FakeApns.deviceToken(), FakeApns.deviceToken()];
    fcm.forEach((t, i) => secret(`FCM token ${i}`, t));
    apns.forEach((t, i) => secret(`APNs token ${i}`, t));
    for (const token of [fcm[0], fcm[3]]) {
      const registered = await admin(keys.marketer, 'POST', '/admin/devices', { platform: 'fcm', token, tags: ['sec'], user_id: 'u1' });
      expect(registered.status).toBe(201);
    }
    const ndjson = [
      JSON.stringify({ platform: 'apns', token: apns[0], tags: ['sec'] }),
      JSON.stringify({ platform: 'fcm', token: fcm[1], tags: ['sec'] }),
      JSON.stringify({ platform: 'apns', token: secret('a rejected APNs token', `${apns[1]!.slice(0, 63)}z`), tags: ['sec'] }),
    ].join('\n');
    const imported = await adminRequest(api, 'POST', '/admin/devices/import', {
      key: keys.marketer,
      raw: ndjson,
      type: 'application/x-ndjson',
    });
    expect(imported.body).toMatchObject({ accepted: 2, rejected: 1 });
    const csv = `platform,token,tags\napns,${apns[1]},sec\nfcm,${fcm[2]},sec\n`;
    expect(
      (await adminRequest(api, 'POST', '/admin/devices/import', { key: keys.marketer, raw: csv, type: 'text/csv' })).body,
    ).toMatchObject({
      accepted: 2,
    });
    const subscription = fakes.webpush.subscribe();
    secret('a Web Push endpoint', subscription.endpoint, subscription.id);
    secret('a Web Push auth secret', subscription.keys.auth);
    secret('a Web Push p256dh key', subscription.keys.p256dh);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO devices (platform, token, p256dh, auth, tags, updated_at) VALUES ('webpush', $1, $2, $3, '{sec}', now())`,
        [subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth],
      );
    } finally {
      await client.end();
    }

    // The providers' error paths are logged too: one token gone for good, one failure per provider retried.
    fakes.fcm.fail(fcm[3]!, 'unregistered');
    fakes.fcm.fail(fcm[1]!, 'internal', 1);
    fakes.apns.fail(apns[0]!, 'InternalServerError', 1);
    fakes.webpush.fail(subscription.id, { status: 500 }, 1);

    // The campaign, sent to the fakes in waves of two.
    const created = await admin(keys.marketer, 'POST', '/admin/campaigns', {
      name: 'Secrets',
      message: { title: 'Sale', body: 'Now on', deep_link: 'https://app.example/shop/sale?src=push' },
      audience: { segment: { tagsAll: ['sec'] } },
      wave_plan: { batch_size: 2, wave_size: 2, interval_seconds: 0, pacing: false },
      room_id: 'shop',
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await admin(keys.marketer, 'POST', `/admin/campaigns/${id}/start`)).status).toBe(200);
    const stats = async () => (await admin(keys.viewer, 'GET', `/admin/campaigns/${id}/stats`)).body;
    await waitFor(async () => (await stats()).status === 'completed', 60_000, 'the campaign to complete');

    // Each recipient's wave ticket, as the fakes received it.
    const waveTickets = [
      ...fakes.fcm.delivered().map((r) => (r.message as { data: Record<string, string> }).data.tg_wave!),
      ...fakes.apns.delivered().map((r) => r.body.tg_wave as string),
      ...fakes.webpush.delivered().map((r) => (JSON.parse(r.plaintext) as { data: Record<string, string> }).data.tg_wave!),
    ];
    expect(waveTickets).toHaveLength(6);
    waveTickets.forEach((t, i) => secret(`wave ticket ${i}`, t));

    // The surge: every recipient taps (header, query parameter, cookie) and waits; forged tickets are tried too.
    const waiting: Array<{ ticket: string; cookies: string[] }> = [];
    for (const [i, wave] of waveTickets.entries()) {
      const how = i % 3;
      const device = secret(`device id ${i}`, `install-${randomUUID()}`);
      const path = how === 1 ? `/shop/sale?src=push&tg_wave=${wave}` : '/shop/sale';
      const headers: Record<string, string> = { accept: 'application/json', 'x-device-id': device };
      if (how === 0) headers['x-wave-ticket'] = wave;
      if (how === 2) headers.cookie = `tg_wave=${wave}; session=${secret(`a session cookie ${i}`, random(24))}`;
      const res = await fetch(`${gateway}${path}`, { headers });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Json;
      expect(body.inWaitingRoom).toBe(true);
      const ticket = body.ticket as string;
      secret(`waiting ticket ${i}`, ticket, ticket.split('.').at(-1));
      waiting.push({ ticket, cookies: res.headers.getSetCookie() });
    }
    const forgedWave = secret('a forged wave ticket', `${waveTickets[0]!.slice(0, -4)}AAAA`);
    const forgedTicket = secret('a forged ticket', `${waiting[0]!.ticket.slice(0, -4)}AAAA`);
    expect((await fetch(`${gateway}/shop/sale`, { headers: { accept: 'application/json', 'x-wave-ticket': forgedWave } })).status).toBe(
      200,
    );
    expect((await fetch(`${gateway}/rooms/shop/status`, { headers: { 'x-tidegate-ticket': forgedTicket } })).status).toBeLessThan(500);

    // Live over socket.io: every waiting visitor gets a position, then (the SRE opens the room) an admission token.
    const sockets: Socket[] = [];
    const admitted: Array<Promise<Admitted>> = [];
    for (const { ticket } of waiting) {
      const socket = io(ws, { auth: { ticket, room: 'shop' }, transports: ['websocket'], reconnection: false, timeout: 15_000 });
      sockets.push(socket);
      admitted.push(new Promise((resolve) => socket.on('admitted.v1', resolve)));
      const heard = new Promise<void>((resolve, reject) => {
        socket.once('position.v1', () => resolve());
        socket.once('connect_error', reject);
      });
      await within(15_000, 'a waiting socket to hear its place', heard);
      await socket.timeout(10_000).emitWithAck('heartbeat.v1');
    }
    const refused = io(ws, { auth: { ticket: forgedTicket, room: 'shop' }, transports: ['websocket'], reconnection: false });
    await within(15_000, 'the forged ticket to be refused', new Promise<void>((resolve) => refused.once('connect_error', () => resolve())));
    refused.close();
    try {
      expect((await admin(bootstrapKey, 'PATCH', '/admin/rooms/shop', { total_active_users: 100 })).status).toBe(200);
      const tokens = await within(30_000, 'every waiting socket to be admitted', Promise.all(admitted));
      tokens.forEach((t, i) => secret(`admission token ${i}`, t.token, t.token.split('.').slice(1).join('.')));

      // Browsing with the token (header, then the cookie the status check-in sets), a forged one, and leaving.
      const status = await fetch(`${gateway}/rooms/shop/status`, { headers: { 'x-tidegate-ticket': waiting[0]!.ticket } });
      expect(status.status).toBe(200);
      const statusBody = (await status.json()) as Json;
      expect(statusBody.inWaitingRoom).toBe(false);
      secret('the checked-in admission token', statusBody.token as string, (statusBody.token as string).split('.').slice(1).join('.'));
      for (const cookie of [...status.headers.getSetCookie(), ...waiting.flatMap((w) => w.cookies)]) {
        const value = decodeURIComponent(cookie.split(';')[0]!.split('=').slice(1).join('='));
        if (value) secret(`a Set-Cookie value (${cookie.split('=')[0]})`, value, value.split('.').at(-1));
      }
      const token = tokens[1]!.token;
      const withHeader = await fetch(`${gateway}/shop/cart`, { headers: { accept: 'application/json', 'x-tidegate-token': token } });
      expect(withHeader.headers.get('x-origin')).toBe('fake');
      const withCookie = await fetch(`${gateway}/shop/cart`, {
        headers: { accept: 'application/json', cookie: `tidegate_token_shop=${tokens[2]!.token}` },
      });
      expect(withCookie.headers.get('x-origin')).toBe('fake');
      const forgedToken = secret('a forged admission token', `${token.slice(0, -6)}AAAAAA`);
      expect(
        (await fetch(`${gateway}/shop/cart`, { headers: { accept: 'application/json', 'x-tidegate-token': forgedToken } })).status,
      ).toBe(200);
      const left = await fetch(`${gateway}/rooms/shop/leave`, { method: 'POST', headers: { 'x-tidegate-token': tokens[3]!.token } });
      expect(left.status).toBeLessThan(300);
    } finally {
      for (const socket of sockets) socket.close();
    }

    // Every process stops (its last lines flushed), then every line is searched.
    const outputs: Array<{ name: string; lines: string[] }> = [];
    for (const { name, proc } of procs) {
      await proc.stop();
      outputs.push({ name, lines: proc.output().split('\n') });
    }
    const lineCount = outputs.reduce((n, o) => n + o.lines.length, 0);
    // The search finds what it looks for: a line holding the middle of any one secret is a hit.
    for (const s of secrets) {
      const middle = s.value.slice(Math.max(0, s.value.length / 2 - 20), s.value.length / 2 + 20);
      expect(leaks([{ name: 'canary', lines: [`{"msg":"x ${JSON.stringify(middle).slice(1, -1)} y"}`] }])).not.toEqual([]);
    }
    const hits = leaks(outputs);
    process.stdout.write(`secrets-in-logs: ${secrets.length} secrets searched in ${lineCount} log lines of ${outputs.length} processes\n`);
    expect(lineCount).toBeGreaterThan(100);
    // The admin API logs one line per request (LoggingOptions.requests), so the search covered request logs too.
    const requestLines = outputs.find((o) => o.name === 'scheduler-api')!.lines.filter((l) => l.includes('"req":{'));
    expect(requestLines.some((l) => l.includes('/admin/api-keys'))).toBe(true);
    expect(hits).toEqual([]);
  });
});
