/**
 * Issue 5's line test: two ws processes and a gateway share one Redis; 200 clients wait in a full room, spread over
 * both ws processes. As sessions free up one at a time, every client's position only goes down and reaches 1, and
 * every client receives `admitted.v1` exactly once, in ticket order.
 */
import { io, type Socket } from 'socket.io-client';
import { ticketSessionId } from '@tidegate/admission';
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomRepository } from '@tidegate/database';
import { RoomConfigStore } from '@tidegate/redis';
import { RoomRegistry } from '../../apps/gateway/src/admission/room-registry';
import { startGateway, startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

const CLIENTS = 200;
const ROOM = 'line';

interface Client {
  ticket: string;
  number: number;
  socket: Socket;
  positions: number[];
  admitted: Array<{ token: string; at: number }>;
  other: string[];
}

describe('live positions over two ws processes', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: FakeOrigin;
  let gateway: RunningApp;
  let ws: RunningApp[];
  const clients: Client[] = [];

  beforeAll(async () => {
    [db, redis, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startFakeOrigin()]);
    const base = { databaseUrl: db.url, redisPrefix: redis.prefix };
    gateway = await startGateway({ ...base, extra: { RELEASE_INTERVAL_MS: '50', ROOMS_REFRESH_MS: '100', THROTTLE_LIMIT: '100000' } });
    const wsEnv = { ...base, extra: { WS_TICK_MS: '50', WS_POSITION_INTERVAL_MS: '50' } };
    ws = await Promise.all([startWs(wsEnv), startWs(wsEnv)]);
    const settings = { ...ROOM_DEFAULTS, totalActiveUsers: 1, newUsersPerMinute: 6_000_000 };
    await gateway.app.get(RoomRepository).create({ id: ROOM, name: 'Line', originUrl: origin.url, paths: ['/line/*'], ...settings });
    await new RoomConfigStore(redis.client, redis.keys).write(ROOM, settings);
    await waitFor(() => gateway.app.get(RoomRegistry).get(ROOM) !== null, 5000, 'the gateway to load the room');
  });

  afterAll(async () => {
    for (const c of clients) c.socket.disconnect();
    await Promise.all([gateway?.close(), ...(ws ?? []).map((w) => w.close())]);
    await origin?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const arrive = async () => {
    const res = await fetch(`${gateway.url}/line/x`, { headers: { accept: 'application/json' } });
    return { body: (await res.json()) as Record<string, unknown>, token: res.headers.get('x-tidegate-token') };
  };
  const leave = (token: string) => fetch(`${gateway.url}/rooms/${ROOM}/leave`, { method: 'POST', headers: { 'x-tidegate-token': token } });

  it('moves every client down to 1 and admits each exactly once, in ticket order', async () => {
    const first = await arrive();
    expect(first.token).toBeTruthy();
    for (let i = 0; i < CLIENTS; i++) {
      const { body } = await arrive();
      const ticket = body.ticket as string;
      const client: Client = {
        ticket,
        number: Number(ticket.split('.')[1]),
        socket: undefined as never,
        positions: [],
        admitted: [],
        other: [],
      };
      client.socket = io(ws[i % 2]!.url, { auth: { ticket, room: ROOM }, transports: ['websocket'], reconnection: false });
      client.socket.on('position.v1', (u: { position: number; aheadOfYou: number; etaSeconds: number | null }) => {
        expect(Object.keys(u).sort()).toEqual(['aheadOfYou', 'etaSeconds', 'position']);
        client.positions.push(u.position);
      });
      client.socket.on('admitted.v1', (a: { token: string }) => client.admitted.push({ token: a.token, at: Date.now() }));
      client.socket.onAny((event: string) => {
        if (!['position.v1', 'admitted.v1'].includes(event)) client.other.push(event);
      });
      clients.push(client);
    }
    expect(clients.map((c) => c.number)).toEqual(Array.from({ length: CLIENTS }, (_, i) => i + 1));
    await waitFor(
      () => clients.every((c) => c.socket.connected && c.positions.length > 0),
      15_000,
      'every client to connect and get a position',
    );
    expect(clients.map((c) => c.positions[0])).toEqual(clients.map((c) => c.number));

    // Sessions end one at a time: each time, the head of the line is admitted and the next one reaches #1.
    let holder = first.token!;
    for (const [i, client] of clients.entries()) {
      await leave(holder);
      await waitFor(() => client.admitted.length > 0, 5000, `ticket ${client.number} to be admitted`);
      const next = clients[i + 1];
      if (next) await waitFor(() => next.positions.at(-1) === 1, 5000, `ticket ${next.number} to reach #1`);
      holder = client.admitted[0]!.token;
    }
    // Proof that no late duplicate is on its way: each ws process admits one more ticket in a later tick (work for
    // earlier tickets was over by then), and every client's heartbeat is answered (a socket's events arrive in order).
    for (const server of ws) {
      const probe = (await arrive()).body.ticket as string;
      const seen: { placed: boolean; token?: string } = { placed: false };
      const socket = io(server.url, { auth: { ticket: probe, room: ROOM }, transports: ['websocket'], reconnection: false });
      socket.on('position.v1', () => (seen.placed = true));
      socket.on('admitted.v1', (a: { token: string }) => (seen.token = a.token));
      try {
        await waitFor(() => seen.placed, 5000, 'the probe to get its place');
        await leave(holder);
        await waitFor(() => seen.token !== undefined, 5000, 'the probe to be admitted');
        holder = seen.token!;
      } finally {
        socket.disconnect();
      }
    }
    await Promise.all(clients.map((c) => c.socket.timeout(5000).emitWithAck('heartbeat.v1')));

    const line = Number(await redis.client.get(redis.keys.room(ROOM).line));
    for (const c of clients) {
      const sorted = [...c.positions].sort((a, b) => b - a);
      expect({ ticket: c.number, positions: c.positions }).toEqual({ ticket: c.number, positions: sorted }); // never up
      expect(new Set(c.positions).size).toBe(c.positions.length); // only on change
      expect(c.positions.at(-1)).toBe(1);
      expect(c.admitted).toHaveLength(1);
      expect(c.other).toEqual([]);
      const sub = (JSON.parse(Buffer.from(c.admitted[0]!.token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
      expect(sub).toBe(ticketSessionId(line, c.number)); // its own session, nobody else's
    }
    const order = [...clients].sort((a, b) => a.admitted[0]!.at - b.admitted[0]!.at).map((c) => c.number);
    expect(order).toEqual(clients.map((c) => c.number));
  }, 180_000);
});
