/**
 * The gateway's HTTP edge as a client meets it (issue 9): dot-segment paths refused with one 400 over HTTP and on
 * WebSocket upgrades, `Expect: 100-continue` uploads reaching the origin, the waiting page's security headers (CSP,
 * nosniff, Referrer-Policy) on the page, its JSON and the gateway's own assets, the throttle's 429 as a small HTML
 * page for browsers, and a malformed X-Device-Id answered with a 400 that names the header and its format.
 * Real Redis and PostgreSQL; paths are sent raw (fetch would resolve the dot-segments itself).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { RoomRepository } from '@tidegate/database';
import { RoomConfigStore } from '@tidegate/redis';
import { RoomRegistry } from '../../apps/gateway/src/admission/room-registry';
import { startGateway, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

const THROTTLE_LIMIT = 20;
/** A room that admits everyone at once (still counted): nothing but the edge's own checks stands in the way. */
const EVERYONE_IN = { queueingMethod: 'passthrough', totalActiveUsers: 100_000 } as const;
/** Where the waiting page is told to open its socket (nothing needs to listen there for these tests). */
const WS_PUBLIC_URL = 'http://127.0.0.1:39999';

interface Seen {
  method: string;
  url: string;
  bodyBytes: number;
  upgrade: boolean;
}

/** The origin: records every request (and its body's size) and every upgrade (refused with 403). */
async function startOrigin(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', bodyBytes, upgrade: false });
      res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'fake' });
      res.end(JSON.stringify({ origin: true, bodyBytes }));
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', bodyBytes: 0, upgrade: true });
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with its path exactly as given (no URL normalisation), optionally as a WebSocket upgrade. */
function raw(base: string, path: string, options: { headers?: Record<string, string>; upgrade?: boolean } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  const upgradeHeaders = options.upgrade
    ? { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }
    : {};
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method: 'GET', headers: { ...upgradeHeaders, ...options.headers }, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
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

/** A CSP header as directive -> sources. */
function directives(csp: string | string[] | undefined): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of String(csp ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) map.set(name, sources);
  }
  return map;
}

describe('the gateway edge', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let gateway: RunningApp;
  let rooms: RoomConfigStore;
  let seq = 0;

  beforeAll(async () => {
    [db, redis, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startOrigin()]);
    gateway = await startGateway({
      databaseUrl: db.url,
      redisPrefix: redis.prefix,
      extra: { RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '100', THROTTLE_LIMIT: String(THROTTLE_LIMIT), WS_PUBLIC_URL },
    });
    rooms = new RoomConfigStore(redis.client, redis.keys);
  });

  afterAll(async () => {
    await gateway?.close();
    await origin?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  async function createRoom(settings: Partial<RoomSettings>): Promise<string> {
    const id = `edge-${++seq}`;
    const full = { ...ROOM_DEFAULTS, newUsersPerMinute: 600_000, ...settings };
    await gateway.app.get(RoomRepository).create({ id, name: `Edge ${seq}`, originUrl: origin.url, paths: [`/${id}/*`], ...full });
    await rooms.write(id, full);
    await waitFor(() => gateway.app.get(RoomRegistry).get(id) !== null, 5000, 'the gateway to load the room');
    return id;
  }

  /** Each test counts against its own device id, so the throttle's window is not shared between tests. */
  const device = (name: string) => ({ 'x-device-id': `edge-test-${name}` });

  describe('dot-segment paths', () => {
    const paths = (id: string) => [
      `/${id}/a/../b`,
      `/${id}/a/%2e%2e/b`,
      `/${id}/a/%2E%2E/b`,
      `/${id}/a/..%2fb`,
      `/${id}/a/%2e./b`,
      `/${id}/a/.%2E/b`,
      `/${id}/./b`,
      `/${id}/a/..`,
      `/${id}/a/..\\b`,
      `/${id}/a/..%5cb`,
      `/${id}/a/%252e%252e/b`,
      `/${id}/a/../b?x=1`,
    ];

    it('refuses them over HTTP with a 400 that says why, before the origin sees them', async () => {
      const id = await createRoom(EVERYONE_IN); // anyone passes: nothing but the path check stands in the way
      const before = origin.seen.length;
      for (const path of paths(id)) {
        const res = await raw(gateway.url, path, { headers: device('dots-http') });
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect(res.headers['content-type']).toContain('application/json');
        const body = JSON.parse(res.body) as { statusCode: number; error: string; message: string };
        expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
        expect(body.message).toMatch(/dot-segment/);
      }
      expect(origin.seen.slice(before)).toEqual([]);
      // Paths the proxy could not forward unchanged: refused with their own reasons, never a 500.
      for (const [path, reason] of [
        [`/${id}/a/..b`, /begin or end with "\.\."/],
        [`/${id}/a/%zz`, /malformed percent-encoding|not a valid url component/], // Fastify refuses this one itself
        [`/${id}/a/%ff`, /malformed percent-encoding|not a valid url component/],
      ] as const) {
        const res = await raw(gateway.url, path, { headers: device('dots-http') });
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect((JSON.parse(res.body) as { message: string }).message).toMatch(reason);
      }
      expect(origin.seen.slice(before)).toEqual([]);
      // Ordinary dots are fine, and the query reaches the origin as it came, whatever it holds.
      const fine = await raw(gateway.url, `/${id}/a/b..c/.well/file.tar.gz?next=/../x&y=%zz`, { headers: device('dots-http') });
      expect(fine.status).toBe(200);
      expect(origin.seen.at(-1)?.url).toBe(`/${id}/a/b..c/.well/file.tar.gz?next=/../x&y=%zz`);
    });

    it('refuses them on WebSocket upgrades the same way, without tunnelling them to the origin', async () => {
      const id = await createRoom(EVERYONE_IN);
      // A live admission: without the path check these upgrades would be tunnelled to the origin.
      const token = (await fetch(`${gateway.url}/${id}/in`, { headers: device('dots-upgrade') })).headers.get('x-tidegate-token') ?? '';
      expect(token).toMatch(/^ey/);
      const before = origin.seen.length;
      for (const path of paths(id)) {
        const res = await raw(gateway.url, path, { upgrade: true, headers: { 'x-tidegate-token': token } });
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        const body = JSON.parse(res.body) as { statusCode: number; error: string; message: string };
        expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
        expect(body.message).toMatch(/dot-segment/);
      }
      expect(origin.seen.slice(before)).toEqual([]);
      // An ordinary path still reaches the origin's handshake (which refuses it with 403, as this origin does).
      expect((await raw(gateway.url, `/${id}/socket`, { upgrade: true, headers: { 'x-tidegate-token': token } })).status).toBe(403);
      expect(origin.seen.at(-1)).toMatchObject({ url: `/${id}/socket`, upgrade: true });
    });
  });

  it('passes a 1.5 MB upload sent with Expect: 100-continue on to the origin', async () => {
    const id = await createRoom(EVERYONE_IN);
    const size = 1_500_000;
    const { hostname, port } = new URL(gateway.url);
    const answer = await new Promise<RawResponse & { continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request({
        hostname,
        port,
        path: `/${id}/upload`,
        method: 'POST',
        agent: false,
        headers: { ...device('expect'), expect: '100-continue', 'content-type': 'application/octet-stream', 'content-length': size },
      });
      req.on('continue', () => {
        continued = true;
        req.end(Buffer.alloc(size, 7));
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, continued }));
      });
      req.on('error', reject);
      req.setTimeout(15_000, () => req.destroy(new Error('no answer in 15 s')));
    });
    expect(answer.continued).toBe(true);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ origin: true, bodyBytes: size });
    expect(origin.seen.at(-1)).toMatchObject({ method: 'POST', url: `/${id}/upload`, bodyBytes: size });
  });

  describe('security headers of the waiting room', () => {
    const wsOrigin = new URL(WS_PUBLIC_URL);

    function expectHardened(headers: Headers, what: string): void {
      expect({ what, nosniff: headers.get('x-content-type-options') }).toEqual({ what, nosniff: 'nosniff' });
      expect({ what, referrer: headers.get('referrer-policy') }).toEqual({ what, referrer: 'no-referrer' });
      const csp = directives(headers.get('content-security-policy') ?? undefined);
      expect({ what, frameAncestors: csp.get('frame-ancestors') }).toEqual({ what, frameAncestors: ["'none'"] });
      expect({ what, defaultSrc: csp.get('default-src') }).toEqual({ what, defaultSrc: ["'none'"] });
    }

    it('gives the waiting page a strict CSP: scripts and styles from the gateway only, connections to it and the ws app', async () => {
      const id = await createRoom({ totalActiveUsers: 1 });
      expect((await fetch(`${gateway.url}/${id}/in`, { headers: { ...device('csp'), accept: 'application/json' } })).status).toBe(200);
      const page = await fetch(`${gateway.url}/${id}/in`, { headers: { ...device('csp'), accept: 'text/html' } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('in line');
      expectHardened(page.headers, 'the waiting page');
      const csp = directives(page.headers.get('content-security-policy') ?? undefined);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('style-src')).toEqual(["'self'"]);
      expect(new Set(csp.get('connect-src'))).toEqual(new Set(["'self'", `http://${wsOrigin.host}`, `ws://${wsOrigin.host}`]));
      expect(csp.get('base-uri')).toEqual(["'none'"]);
      expect(csp.get('form-action')).toEqual(["'none'"]);
      // Nothing inline that the CSP would block: every script has a src, no style attributes or blocks.
      expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
      expect(html).not.toMatch(/\sstyle=|<style/);

      // The same headers on its JSON: the protected path asked for JSON, and the status endpoint.
      const ticket = page.headers
        .getSetCookie()
        .map((c) => c.split(';')[0] ?? '')
        .find((c) => c.startsWith(`tidegate_ticket_${id}=`));
      const json = await fetch(`${gateway.url}/${id}/in`, { headers: { ...device('csp'), accept: 'application/json' } });
      expect(((await json.json()) as { inWaitingRoom: boolean }).inWaitingRoom).toBe(true);
      expectHardened(json.headers, 'the waiting JSON');
      const status = await fetch(`${gateway.url}/rooms/${id}/status`, { headers: { ...device('csp'), cookie: ticket! } });
      expect(status.status).toBe(200);
      expectHardened(status.headers, 'the status JSON');
    });

    it("puts the same headers on the gateway's own assets", async () => {
      for (const asset of ['waiting-room.js', 'waiting-room.css', 'socket.io.min.js']) {
        const res = await fetch(`${gateway.url}/_tidegate/${asset}`, { headers: device('assets') });
        expect(res.status).toBe(200);
        expectHardened(res.headers, asset);
      }
    });

    it('does not touch what the origin answers', async () => {
      const id = await createRoom(EVERYONE_IN);
      const res = await fetch(`${gateway.url}/${id}/page`, { headers: device('origin') });
      expect(res.headers.get('x-origin')).toBe('fake');
      expect(res.headers.get('content-security-policy')).toBeNull();
    });
  });

  describe('throttling', () => {
    it('answers a browser over its limit with a small HTML page, an app with JSON, both with the rate-limit headers', async () => {
      const id = await createRoom(EVERYONE_IN);
      const headers = device('over-limit');
      for (let i = 0; i < THROTTLE_LIMIT; i++) expect((await fetch(`${gateway.url}/${id}/x`, { headers })).status).toBe(200);

      const browser = await fetch(`${gateway.url}/${id}/x`, {
        headers: { ...headers, accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
      });
      expect(browser.status).toBe(429);
      expect(browser.headers.get('content-type')).toContain('text/html');
      const retryAfter = Number(browser.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(browser.headers.get('ratelimit-limit')).toBe(String(THROTTLE_LIMIT));
      expect(browser.headers.get('ratelimit-remaining')).toBe('0');
      expect(browser.headers.get('ratelimit-reset')).toEqual(expect.any(String));
      expect(browser.headers.get('x-content-type-options')).toBe('nosniff');
      expect(directives(browser.headers.get('content-security-policy') ?? undefined).get('default-src')).toEqual(["'none'"]);
      const html = await browser.text();
      expect(html).toMatch(/^<!doctype html>/i);
      expect(html).toContain('Too many requests');
      expect(html).toContain(`${retryAfter} second`);

      const app = await fetch(`${gateway.url}/${id}/x`, { headers: { ...headers, accept: 'application/json' } });
      expect(app.status).toBe(429);
      expect(app.headers.get('content-type')).toContain('application/json');
      expect(app.headers.get('ratelimit-limit')).toBe(String(THROTTLE_LIMIT));
      expect(await app.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    });

    it("counts a client's requests to a room in one window, whichever the route (protected path, status, leave); another room has its own", async () => {
      const id = await createRoom(EVERYONE_IN);
      const other = await createRoom(EVERYONE_IN);
      const headers = device('one-window');
      const remaining = (res: Response) => res.headers.get('ratelimit-remaining');

      const first = await fetch(`${gateway.url}/${id}/x`, { headers });
      expect(first.status).toBe(200);
      expect(remaining(first)).toBe(String(THROTTLE_LIMIT - 1));
      const token = first.headers.get('x-tidegate-token') ?? '';
      const withToken = { ...headers, 'x-tidegate-token': token };
      const status = await fetch(`${gateway.url}/rooms/${id}/status`, { headers: withToken });
      expect(status.status).toBe(200);
      expect(remaining(status)).toBe(String(THROTTLE_LIMIT - 2));
      for (let i = 2; i < THROTTLE_LIMIT; i++) expect((await fetch(`${gateway.url}/${id}/x`, { headers: withToken })).status).toBe(200);

      const polled = await fetch(`${gateway.url}/rooms/${id}/status`, { headers: withToken });
      expect(polled.status).toBe(429);
      expect(Number(polled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const left = await fetch(`${gateway.url}/rooms/${id}/leave`, { method: 'POST', headers: withToken });
      expect(left.status).toBe(429);

      const elsewhere = await fetch(`${gateway.url}/${other}/x`, { headers });
      expect(elsewhere.status).toBe(200);
      expect(remaining(elsewhere)).toBe(String(THROTTLE_LIMIT - 1));
    });

    it('answers a malformed X-Device-Id with a 400 naming the header and its format', async () => {
      const id = await createRoom(EVERYONE_IN);
      const before = origin.seen.length;
      for (const bad of ['short', 'has space inside', 'x'.repeat(129), 'bad!chars$here', 'dev-1,dev-2']) {
        for (const path of [`/${id}/x`, '/.well-known/jwks.json']) {
          const res = await fetch(`${gateway.url}${path}`, { headers: { 'x-device-id': bad } });
          expect({ bad, path, status: res.status }).toEqual({ bad, path, status: 400 });
          const body = (await res.json()) as { statusCode: number; message: string };
          expect(body.statusCode).toBe(400);
          expect(body.message).toContain('X-Device-Id');
          expect(body.message).toContain('8 to 128');
        }
      }
      expect(origin.seen.length).toBe(before);
      expect((await fetch(`${gateway.url}/${id}/x`, { headers: { 'x-device-id': 'Good_device-0123' } })).status).toBe(200);
    });
  });
});
