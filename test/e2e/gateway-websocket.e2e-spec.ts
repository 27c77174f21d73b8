/**
 * WebSocket upgrades through the gateway to a fake origin with a WebSocket echo server: admitted users are tunnelled
 * (both directions, text and binary, the handshake's headers passed on with X-Forwarded-*), everyone else is refused
 * with 401 before the origin sees anything, and an upgrade never takes a ticket. Real Redis and PostgreSQL.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { AdmissionTokens } from '@tidegate/admission';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { RoomRepository } from '@tidegate/database';
import { RoomConfigStore } from '@tidegate/redis';
import { RoomRegistry } from '../../apps/gateway/src/admission/room-registry';
import { startGateway, type AppEnv, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv } from '../support/env';
import { freePort, waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

interface SeenUpgrade {
  url: string;
  headers: http.IncomingHttpHeaders;
}

interface WsOrigin {
  url: string;
  upgrades: SeenUpgrade[];
  close(): Promise<void>;
}

/**
 * The origin: plain HTTP answers 200 (so the gate can admit through it), upgrades are recorded and echoed: each
 * socket is greeted, every message comes back as it came (text or binary), "close please" closes with 4001. An
 * upgrade to a path ending in /declined is refused with 403.
 */
async function startWsOrigin(): Promise<WsOrigin> {
  const upgrades: SeenUpgrade[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'fake' });
      res.end(JSON.stringify({ origin: true }));
    });
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false) });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    if (req.url?.endsWith('/declined')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nno, ta.');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send('hello from the origin');
      ws.on('message', (data, isBinary) => {
        if (!isBinary && (data as Buffer).toString() === 'close please') return ws.close(4001, 'bye');
        ws.send(data, { binary: isBinary });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    upgrades,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Message {
  data: Buffer;
  isBinary: boolean;
}

/** A connected client with an inbox (the origin greets at once, before a test could add a listener). */
interface Client {
  ws: WebSocket;
  next(): Promise<Message>;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: 5000 });
    const inbox: Message[] = [];
    let wake: (() => void) | undefined;
    ws.on('message', (data, isBinary) => {
      inbox.push({ data: data as Buffer, isBinary });
      wake?.();
    });
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.on('close', (code, reason) => done({ code, reason: String(reason) })),
    );
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode ?? '?'}`)));
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        closed,
        next: async () => {
          while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
          return inbox.shift()!;
        },
      }),
    );
  });
}

/** The HTTP answer to an upgrade that must be refused. */
function refusal(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 5000 });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    ws.on('error', reject);
  });
}

describe('gateway WebSocket upgrades', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: WsOrigin;
  let gateway: RunningApp;
  let env: AppEnv;
  let wsUrl: string;
  let rooms: RoomConfigStore;
  let seq = 0;

  beforeAll(async () => {
    [db, redis, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startWsOrigin()]);
    env = {
      databaseUrl: db.url,
      redisPrefix: redis.prefix,
      extra: { RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '200', THROTTLE_LIMIT: '1000' },
    };
    gateway = await startGateway(env);
    wsUrl = gateway.url.replace(/^http/, 'ws');
    rooms = new RoomConfigStore(redis.client, redis.keys);
  });

  afterAll(async () => {
    await gateway?.close();
    await origin?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  /** Creates a room as the admin API does (PostgreSQL, then the hot copy and version bump) and waits for the gateway. */
  async function createRoom(settings: Partial<RoomSettings>, originUrl = origin.url): Promise<string> {
    const id = `room-${++seq}`;
    const full = { ...ROOM_DEFAULTS, newUsersPerMinute: 600_000, ...settings };
    await gateway.app.get(RoomRepository).create({ id, name: `Room ${seq}`, originUrl, paths: [`/${id}/*`], ...full });
    await rooms.write(id, full);
    await waitFor(() => gateway.app.get(RoomRegistry).get(id) !== null, 5000, 'the gateway to load the room');
    return id;
  }

  /** An admission the way a browser gets one: a GET to the protected path sets the room's token cookie. */
  async function admit(id: string): Promise<string> {
    const res = await fetch(`${gateway.url}/${id}/page`, { headers: { accept: 'application/json' } });
    expect(res.headers.get('x-origin')).toBe('fake');
    const name = `tidegate_token_${id}=`;
    const token = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0] ?? '')
      .find((c) => c.startsWith(name))
      ?.slice(name.length);
    expect(token).toMatch(/^ey/);
    return token!;
  }

  /** An admission whose origin may be down: the token from the gateway's answer, whatever the origin said. */
  async function admitted(id: string): Promise<string> {
    const res = await fetch(`${gateway.url}/${id}/page`, { headers: { accept: 'application/json' } });
    const token = res.headers.get('x-tidegate-token');
    expect(token).toMatch(/^ey/);
    return token!;
  }

  const ticketsOf = (id: string) => redis.client.get(redis.keys.room(id).tickets);

  it('tunnels an admitted socket to the origin: text and binary both ways, the handshake headers and X-Forwarded-*', async () => {
    const id = await createRoom({ totalActiveUsers: 5 });
    const token = await admit(id);
    const client = await connect(`${wsUrl}/${id}/socket?x=1`, { cookie: `other=1; tidegate_token_${id}=${token}`, 'x-custom': 'kept' }, [
      'chat',
    ]);
    expect(client.ws.protocol).toBe('chat'); // Sec-WebSocket-Protocol went to the origin and its choice came back

    expect(await client.next()).toEqual({ data: Buffer.from('hello from the origin'), isBinary: false });
    client.ws.send('ping');
    expect(await client.next()).toEqual({ data: Buffer.from('ping'), isBinary: false });
    const binary = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    client.ws.send(binary);
    const echoed = await client.next();
    expect(echoed.isBinary).toBe(true);
    expect(echoed.data.equals(binary)).toBe(true);

    const seen = origin.upgrades.at(-1)!;
    expect(seen.url).toBe(`/${id}/socket?x=1`);
    expect(seen.headers).toMatchObject({
      host: new URL(origin.url).host,
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-host': new URL(gateway.url).host,
      'x-forwarded-proto': 'http',
      'x-custom': 'kept',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-version': '13',
      'sec-websocket-protocol': 'chat',
    });
    expect(seen.headers['sec-websocket-key']).toEqual(expect.any(String));
    expect(seen.headers.cookie).toContain(`tidegate_token_${id}=${token}`);

    client.ws.close(1000, 'done');
    expect(await client.closed).toEqual({ code: 1000, reason: 'done' });
    expect(await ticketsOf(id)).toBeNull();
  });

  it('takes the token from the X-Tidegate-Token header too, and passes the origin closing back', async () => {
    const id = await createRoom({ totalActiveUsers: 5 });
    const token = await admit(id);
    const client = await connect(`${wsUrl}/${id}/socket`, { 'x-tidegate-token': token, 'x-forwarded-for': '203.0.113.9' });
    expect((await client.next()).data.toString()).toBe('hello from the origin');
    expect(origin.upgrades.at(-1)!.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    client.ws.send('close please');
    expect(await client.closed).toEqual({ code: 4001, reason: 'bye' });
  });

  it('keeps an open socket counted as a session, and closes it when the session is revoked', async () => {
    const id = await createRoom({ totalActiveUsers: 5, sessionDurationSeconds: 2 });
    const token = await admit(id);
    const client = await connect(`${wsUrl}/${id}/socket`, { 'x-tidegate-token': token });
    expect((await client.next()).data.toString()).toBe('hello from the origin');
    const sid = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
    const sessions = redis.keys.room(id).sessions;
    // Open for longer than the session duration without HTTP activity: the tunnel keeps renewing the session.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await redis.client.zscore(sessions, sid)).not.toBeNull();
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await redis.client.zrem(sessions, sid); // revoked (as DELETE /admin/rooms/:id/sessions/:sid does)
    const closed = await Promise.race([client.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 3000))]);
    expect(closed).toBe('closed');
  });

  it('refuses upgrades without a live admission with 401, before the origin sees them, and never takes a ticket', async () => {
    const id = await createRoom({ totalActiveUsers: 1 });
    const other = await createRoom({ totalActiveUsers: 5 });
    const token = await admit(id); // the room is now full: an HTTP newcomer would get a ticket
    const otherToken = await admit(other);
    const tokens = await AdmissionTokens.fromPem(admissionEnv().ADMISSION_SIGNING_KEY!);
    const expired = await tokens.sign({ roomId: id, sessionId: 'sX', expiresAt: Math.floor(Date.now() / 1000) - 5 });
    const unknownSession = await tokens.sign({ roomId: id, sessionId: 'sNobody', expiresAt: Math.floor(Date.now() / 1000) + 60 });
    const [h, p] = token.split('.');
    const forged = `${h}.${p}.AAAA`;
    const url = `${wsUrl}/${id}/socket`;
    const before = origin.upgrades.length;

    const attempts: Array<Record<string, string>> = [
      {},
      { 'x-tidegate-token': forged },
      { cookie: `tidegate_token_${id}=${forged}` },
      { 'x-tidegate-token': expired },
      { 'x-tidegate-token': unknownSession },
      { 'x-tidegate-token': 'garbage' },
      { cookie: `tidegate_token_${other}=${otherToken}` }, // another room's cookie
      { cookie: `tidegate_token_${id}=${otherToken}` }, // another room's token under this room's name
    ];
    for (const headers of attempts) {
      const refused = await refusal(url, headers);
      expect(refused.status).toBe(401);
      expect(refused.headers['content-type']).toContain('application/json');
      const body = JSON.parse(refused.body) as { statusCode: number; message: string };
      expect(body.statusCode).toBe(401);
      expect(body.message).toContain(`tidegate_token_${id}`);
    }
    expect(origin.upgrades.length).toBe(before);
    expect(await ticketsOf(id)).toBeNull();

    // The genuine token passes; once its session is ended, it no longer does.
    const client = await connect(url, { cookie: `tidegate_token_${id}=${token}` });
    client.ws.close();
    await client.closed;
    const left = await fetch(`${gateway.url}/rooms/${id}/leave`, { method: 'POST', headers: { 'x-tidegate-token': token } });
    expect(await left.json()).toEqual({ left: false, sessionEnded: true });
    const afterLeave = origin.upgrades.length;
    expect((await refusal(url, { cookie: `tidegate_token_${id}=${token}` })).status).toBe(401);
    expect(origin.upgrades.length).toBe(afterLeave);
    expect(await ticketsOf(id)).toBeNull();

    // For contrast, the same request over plain HTTP does take a ticket (the room was full until the leave above).
    await admit(id); // takes the freed place
    const waiting = (await (await fetch(`${gateway.url}/${id}/page`, { headers: { accept: 'application/json' } })).json()) as Record<
      string,
      unknown
    >;
    expect(waiting.inWaitingRoom).toBe(true);
    expect(await ticketsOf(id)).toBe('1');
  });

  it('in a suspended room, keeps tunnelling admitted sessions and refuses upgrades without one (no ticket taken)', async () => {
    const id = await createRoom({ totalActiveUsers: 5 });
    const token = await admit(id);
    await rooms.write(id, { ...ROOM_DEFAULTS, newUsersPerMinute: 600_000, totalActiveUsers: 5, suspended: true });
    const client = await connect(`${wsUrl}/${id}/socket`, { 'x-tidegate-token': token });
    expect((await client.next()).data.toString()).toBe('hello from the origin');
    client.ws.close();
    await client.closed;
    expect((await refusal(`${wsUrl}/${id}/socket`)).status).toBe(401);
    expect(await ticketsOf(id)).toBeNull();
  });

  it("relays the origin's refusal of a handshake, and answers 502 when the origin is down", async () => {
    const id = await createRoom({ totalActiveUsers: 5 });
    const declined = await refusal(`${wsUrl}/${id}/declined`, { 'x-tidegate-token': await admit(id) });
    expect(declined).toMatchObject({ status: 403, body: 'no, ta.' });

    const dead = await createRoom({ totalActiveUsers: 5, queueingMethod: 'passthrough' }, `http://127.0.0.1:${await freePort()}`);
    const down = await refusal(`${wsUrl}/${dead}/socket`, { 'x-tidegate-token': await admitted(dead) });
    expect(down.status).toBe(502);
  });

  it('answers 404 to upgrades on paths no room protects, and leaves plain HTTP alone', async () => {
    expect((await refusal(`${wsUrl}/nothing-here`)).status).toBe(404);
    expect((await refusal(`${wsUrl}/rooms/room-1/status`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
  });

  it('ends open tunnels when the gateway shuts down, without holding up its close', async () => {
    const id = await createRoom({ totalActiveUsers: 5 });
    const token = await admit(id);
    const extra = await startGateway(env);
    try {
      await waitFor(() => extra.app.get(RoomRegistry).get(id) !== null, 5000, 'the second gateway to load the room');
      const client = await connect(`${extra.url.replace(/^http/, 'ws')}/${id}/socket`, { 'x-tidegate-token': token });
      expect((await client.next()).data.toString()).toBe('hello from the origin');
      const started = Date.now();
      await extra.close();
      expect(Date.now() - started).toBeLessThan(3000);
      expect((await client.closed).code).toBe(1006); // torn down, no close frame
    } finally {
      await extra.close().catch(() => undefined);
    }
  });
});
