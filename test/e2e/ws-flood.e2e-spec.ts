/**
 * Issue 9, defect 8: a few sockets flooding `heartbeat.v1` (with acks) must not stall the ws app for the others. A
 * real ws process (dist/) with its per-socket event limits at their defaults: four flooders are told
 * (`rateLimited.v1`) and disconnected, while an ordinary waiting socket still gets its position update and its
 * admission, and a polite heartbeat is still answered.
 */
import { io, type Socket } from 'socket.io-client';
import { AdmissionStore, TicketSigner } from '@tidegate/admission';
import { ROOM_DEFAULTS, type RateLimited } from '@tidegate/contracts';
import { RoomConfigStore } from '@tidegate/redis';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv, redisEnv } from '../support/env';
import { freePort, httpStatus, spawnApp, waitFor, type Proc } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

const ROOM = 'flood';
const FLOODERS = 4;
/** Heartbeats each flooder sends at most (it stops as soon as it is disconnected). */
const FLOOD_CAP = 200_000;
/** Generous bounds: the events come within a second or two on a quiet machine. */
const WAIT_MS = 20_000;

interface Client {
  socket: Socket;
  events: Array<[string, unknown]>;
  disconnectReason: string | null;
}

function connect(url: string, ticket: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket: Socket = io(url, { auth: { ticket, room: ROOM }, transports: ['websocket'], reconnection: false, timeout: 10_000 });
    const client: Client = { socket, events: [], disconnectReason: null };
    socket.onAny((event: string, payload: unknown) => client.events.push([event, payload]));
    socket.on('disconnect', (reason) => (client.disconnectReason = reason));
    socket.on('connect', () => resolve(client));
    socket.on('connect_error', reject);
  });
}

/** Sends heartbeats with acks as fast as this process can, in batches, until disconnected or FLOOD_CAP. */
async function flood(client: Client): Promise<number> {
  let sent = 0;
  while (client.socket.connected && sent < FLOOD_CAP) {
    for (let i = 0; i < 500; i++) client.socket.emit('heartbeat.v1', () => undefined);
    sent += 500;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return sent;
}

describe('a ws process under a heartbeat flood', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let ws: Proc;
  let url: string;
  let store: AdmissionStore;
  const clients: Client[] = [];
  const signer = new TicketSigner(admissionEnv().TICKET_SECRET!);

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    ws = spawnApp('ws', {
      ...admissionEnv(),
      ...redisEnv(),
      DATABASE_URL: db.url,
      REDIS_KEY_PREFIX: redis.prefix,
      WS_PORT: String(port),
      HOST: '127.0.0.1',
      WS_TICK_MS: '50',
      WS_POSITION_INTERVAL_MS: '50',
      LOG_LEVEL: 'warn',
    });
    await waitFor(async () => (await httpStatus(`${url}/health/live`)) === 200, 15_000, 'the ws process to start');
    const settings = { ...ROOM_DEFAULTS, totalActiveUsers: 1, newUsersPerMinute: 6_000_000 };
    await new RoomConfigStore(redis.client, redis.keys).write(ROOM, settings);
    store = new AdmissionStore(redis.client, redis.keys, { graceMs: 60_000 });
  });

  afterAll(async () => {
    for (const c of clients) c.socket.disconnect();
    const code = await ws?.stop();
    if (code !== 0 && ws) process.stderr.write(ws.output());
    await redis?.cleanup();
    await db?.drop();
  });

  async function arrive(): Promise<{ ticket: string; number: number } | { sessionId: string }> {
    const r = await store.arrive(ROOM);
    if (r.kind === 'admitted') return { sessionId: r.sessionId };
    if (r.kind !== 'ticket') throw new Error(`unexpected arrival: ${r.kind}`);
    return { ticket: signer.sign({ roomId: ROOM, number: r.ticket, issuedAt: r.issuedAt }), number: r.ticket };
  }

  it('tells and disconnects the flooders while an ordinary socket gets its position and its admission', async () => {
    const holder = await arrive(); // takes the one place: everyone after waits
    if (!('sessionId' in holder)) throw new Error('the first arrival should be admitted');
    const ahead = await arrive(); // #1, an app checking in over HTTP (no socket)
    const mine = await arrive(); // #2, the ordinary socket
    if (!('ticket' in ahead) || !('ticket' in mine)) throw new Error('expected tickets');
    const flooderTickets: string[] = [];
    for (let i = 0; i < FLOODERS; i++) {
      const t = await arrive();
      if (!('ticket' in t)) throw new Error('expected a ticket');
      flooderTickets.push(t.ticket);
    }

    const ordinary = await connect(url, mine.ticket);
    clients.push(ordinary);
    await waitFor(() => ordinary.events.some(([e]) => e === 'position.v1'), WAIT_MS, 'the ordinary socket to hear its place');
    expect(ordinary.events[0]).toEqual(['position.v1', expect.objectContaining({ position: 2 })]);

    const flooders = await Promise.all(flooderTickets.map((t) => connect(url, t)));
    clients.push(...flooders);
    const floods = flooders.map((f) => flood(f));

    // While they flood: the one ahead leaves (the ordinary socket moves to #1), then the place frees up (admitted).
    await store.leave(ROOM, { ticket: ahead.number });
    await waitFor(
      () => ordinary.events.some(([e, p]) => e === 'position.v1' && (p as { position: number }).position === 1),
      WAIT_MS,
      'the ordinary socket to move up to #1 during the flood',
    );
    const polite = (await ordinary.socket.timeout(WAIT_MS).emitWithAck('heartbeat.v1')) as unknown;
    expect(polite).toMatchObject({ position: 1 });
    await store.leave(ROOM, { sessionId: holder.sessionId });
    await store.release(ROOM, 900);
    await waitFor(() => ordinary.events.some(([e]) => e === 'admitted.v1'), WAIT_MS, 'the ordinary socket to be admitted during the flood');

    // Every flooder was told why, and was disconnected by the server.
    await waitFor(() => flooders.every((f) => f.disconnectReason !== null), WAIT_MS, 'the flooders to be disconnected');
    const sent = await Promise.all(floods);
    for (const [i, f] of flooders.entries()) {
      expect({ flooder: i, reason: f.disconnectReason }).toEqual({ flooder: i, reason: 'io server disconnect' });
      const told = f.events.filter(([e]) => e === 'rateLimited.v1').map(([, p]) => p as RateLimited);
      expect(told.length).toBeGreaterThanOrEqual(1);
      expect(told[0]?.event).toBe('heartbeat.v1');
      expect(told[0]?.message).toContain('heartbeat.v1');
      expect(told.at(-1)).toMatchObject({ event: 'heartbeat.v1', disconnecting: true });
      expect(sent[i]).toBeLessThan(FLOOD_CAP); // stopped by the server, not by running out
    }
    expect(ordinary.events.filter(([e]) => e === 'rateLimited.v1')).toEqual([]);
    expect(ordinary.disconnectReason).toBeNull();
  }, 120_000);
});
