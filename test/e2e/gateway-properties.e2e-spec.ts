/**
 * The gateway against arbitrary cookies, tickets, tokens and wave tickets (fast-check; the seed prints on failure).
 * A room with one place, taken by a first visitor whose admission token the test keeps: arbitrary Cookie headers,
 * arbitrary and mutated tickets and tokens (headers and cookies), wave tickets (header, cookie, query) and device ids,
 * at the protected path, the status check-in and leave. Never a 5xx; a mutated token or ticket never gets through to
 * the origin nor is told a token; the genuine token still does (nothing a forgery did took its place).
 */
import http from 'node:http';
import fc from 'fast-check';
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomRepository } from '@tidegate/database';
import { RoomConfigStore } from '@tidegate/redis';
import { RoomRegistry } from '../../apps/gateway/src/admission/room-registry';
import { startGateway, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

jest.setTimeout(120_000);

const RUNS = 150;

/** Text a client can put in a header value (Node refuses control characters other than tab). */
const headerText = (maxLength: number) =>
  fc.string({
    maxLength,
    unit: fc
      .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
      .map((c) => String.fromCharCode(c)),
  });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with headers exactly as given (fetch would reject or normalise some). */
function request(base: string, method: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method, headers, agent: false });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.end();
  });
}

/** `value` with one character replaced, inserted or removed (never `value` itself). */
const mutation = (value: string) =>
  fc
    .tuple(fc.nat(), fc.constantFrom(...'.-_0123456789AZaz'), fc.constantFrom('replace', 'insert', 'delete'))
    .map(([at, c, how]) => {
      const i = at % value.length;
      return how === 'replace'
        ? value.slice(0, i) + c + value.slice(i + 1)
        : how === 'insert'
          ? value.slice(0, i) + c + value.slice(i)
          : value.slice(0, i) + value.slice(i + 1);
    })
    .filter((m) => m !== value);

describe('the gateway against arbitrary cookies, tickets and tokens', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: FakeOrigin;
  let gateway: RunningApp;
  let token: string;
  let ticket: string;

  beforeAll(async () => {
    [db, redis, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startFakeOrigin()]);
    gateway = await startGateway({
      databaseUrl: db.url,
      redisPrefix: redis.prefix,
      extra: { RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '100', THROTTLE_LIMIT: '1000000', WS_PUBLIC_URL: 'http://127.0.0.1:39999' },
    });
    const settings = { ...ROOM_DEFAULTS, totalActiveUsers: 1, newUsersPerMinute: 600_000, sessionDurationSeconds: 3600 };
    await gateway.app.get(RoomRepository).create({ id: 'shop', name: 'Shop', originUrl: origin.url, paths: ['/shop/*'], ...settings });
    await new RoomConfigStore(redis.client, redis.keys).write('shop', settings);
    await waitFor(() => gateway.app.get(RoomRegistry).get('shop') !== null, 5000, 'the gateway to load the room');
    // The one place goes to the first visitor (its token kept); the second waits (its ticket kept).
    const first = await request(gateway.url, 'GET', '/shop/home', { accept: 'application/json' });
    expect(first.headers['x-origin']).toBe('fake');
    token = first.headers['x-tidegate-token'] as string;
    expect(token).toMatch(/^eyJ/);
    const second = await request(gateway.url, 'GET', '/shop/home', { accept: 'application/json' });
    ticket = (JSON.parse(second.body) as { ticket: string }).ticket;
    expect(ticket).toMatch(/^shop\.\d+\./);
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([origin?.close(), redis?.cleanup(), db?.drop()]);
  });

  const passed = (a: Answer) => a.headers['x-origin'] === 'fake';
  const noServerError = (a: Answer, what: string) => {
    if (a.status >= 500) throw new Error(`${what} → ${a.status}: ${a.body.slice(0, 200)}`);
  };

  it('answers any Cookie header without a 5xx', async () => {
    const pair = fc
      .tuple(fc.constantFrom('tidegate_ticket_shop', 'tidegate_token_shop', 'tg_wave', 'other'), headerText(120))
      .map(([name, value]) => `${name}=${value}`);
    const cookie = fc.oneof(
      headerText(300),
      fc.array(fc.oneof(pair, headerText(30)), { maxLength: 6 }).map((parts) => parts.join('; ')),
    );
    await fc.assert(
      fc.asyncProperty(cookie, fc.constantFrom('/shop/home', '/rooms/shop/status'), fc.boolean(), async (value, path, json) => {
        const answer = await request(gateway.url, 'GET', path, { cookie: value, ...(json && { accept: 'application/json' }) });
        noServerError(answer, `Cookie: ${value}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('never lets a mutated or arbitrary token through, in a header or a cookie; the genuine one still passes', async () => {
    const forged = fc.oneof(mutation(token), headerText(400));
    await fc.assert(
      fc.asyncProperty(forged, fc.boolean(), async (value, asCookie) => {
        const headers: Record<string, string> = asCookie ? { cookie: `tidegate_token_shop=${value}` } : { 'x-tidegate-token': value };
        const answer = await request(gateway.url, 'GET', '/shop/cart', { accept: 'application/json', ...headers });
        noServerError(answer, `token ${value}`);
        expect(passed(answer)).toBe(false);
        noServerError(await request(gateway.url, 'POST', '/rooms/shop/leave', headers), `leave with token ${value}`);
      }),
      { numRuns: RUNS },
    );
    expect(passed(await request(gateway.url, 'GET', '/shop/cart', { accept: 'application/json', 'x-tidegate-token': token }))).toBe(true);
  });

  it('never admits a mutated or arbitrary ticket, nor tells it a token', async () => {
    const forged = fc.oneof(mutation(ticket), headerText(200));
    await fc.assert(
      fc.asyncProperty(forged, fc.boolean(), async (value, asCookie) => {
        const headers: Record<string, string> = asCookie ? { cookie: `tidegate_ticket_shop=${value}` } : { 'x-tidegate-ticket': value };
        const status = await request(gateway.url, 'GET', '/rooms/shop/status', headers);
        noServerError(status, `ticket ${value}`);
        expect(status.body).not.toMatch(/"token"/);
        const visit = await request(gateway.url, 'GET', '/shop/cart', { accept: 'application/json', ...headers });
        noServerError(visit, `visit with ticket ${value}`);
        expect(passed(visit)).toBe(false);
        noServerError(await request(gateway.url, 'POST', '/rooms/shop/leave', headers), `leave with ticket ${value}`);
      }),
      { numRuns: RUNS },
    );
    // The genuine ticket still holds its place (a forgery's leave did not end it).
    const mine = JSON.parse((await request(gateway.url, 'GET', '/rooms/shop/status', { 'x-tidegate-ticket': ticket })).body) as {
      inWaitingRoom: boolean;
    };
    expect(mine.inWaitingRoom).toBe(true);
  });

  it('answers arbitrary wave tickets and device ids (header, cookie, query) without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(headerText(120), headerText(80), fc.constantFrom('header', 'cookie', 'query'), async (wave, deviceId, how) => {
        const headers: Record<string, string> = { accept: 'application/json', 'x-device-id': deviceId };
        if (how === 'header') headers['x-wave-ticket'] = wave;
        if (how === 'cookie') headers.cookie = `tg_wave=${wave}`;
        const path = how === 'query' ? `/shop/sale?tg_wave=${encodeURIComponent(wave)}` : '/shop/sale';
        noServerError(await request(gateway.url, 'GET', path, headers), `wave ticket ${wave}, device ${deviceId}`);
      }),
      { numRuns: RUNS },
    );
  });
});
