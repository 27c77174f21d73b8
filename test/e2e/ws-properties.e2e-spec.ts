/**
 * The ws app against arbitrary client messages (fast-check; the seed prints on failure): arbitrary handshake `auth`
 * values, and arbitrary payloads (JSON, binary, none, with or without an ack) on every client-to-server event and on
 * events it does not know. Never a crash: a bad handshake is refused with a machine-readable reason, `heartbeat.v1`
 * is answered whatever it carries, `leave.v1` leaves, anything else is ignored and the socket keeps working; a
 * bystander socket that sent nothing odd keeps its place and its answers throughout.
 */
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { AdmissionStore, TicketSigner } from '@tidegate/admission';
import { ROOM_DEFAULTS, type HandshakeRefusal } from '@tidegate/contracts';
import { RoomConfigStore } from '@tidegate/redis';
import { startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv } from '../support/env';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

jest.setTimeout(120_000);

const ROOM = 'shop';
const RUNS = 150;
const WAIT_MS = 10_000;
const REFUSALS: HandshakeRefusal[] = [
  'ticket_missing',
  'ticket_invalid',
  'ticket_expired',
  'ticket_other_room',
  'room_unknown',
  'server_full',
  'unavailable',
];
/** Names socket.io reserves on the client: it refuses to emit them. */
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

describe('the ws app against arbitrary client messages', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let ws: RunningApp;
  let store: AdmissionStore;
  let bystander: Socket;
  const signer = new TicketSigner(admissionEnv().TICKET_SECRET!);
  const sockets: Socket[] = [];

  /** A new place in line (the room's one place is taken in beforeAll). */
  async function ticketIn(): Promise<string> {
    const r = await store.arrive(ROOM);
    if (r.kind !== 'ticket') throw new Error(`expected a ticket, got ${r.kind}`);
    return signer.sign({ roomId: ROOM, number: r.ticket, issuedAt: r.issuedAt });
  }

  function connect(auth: unknown): Promise<{ socket: Socket; refused?: { reason?: string } }> {
    return new Promise((resolve) => {
      const socket: Socket = io(ws.url, {
        auth: auth as Record<string, unknown>,
        transports: ['websocket'],
        reconnection: false,
        timeout: 15_000,
      });
      sockets.push(socket);
      socket.on('connect', () => resolve({ socket }));
      socket.on('connect_error', (err: Error & { data?: { reason?: string } }) => {
        socket.close();
        resolve({ socket, refused: { reason: err.data?.reason } });
      });
    });
  }

  async function waitingSocket(): Promise<Socket> {
    const { socket, refused } = await connect({ ticket: await ticketIn(), room: ROOM });
    if (refused) throw new Error(`a genuine ticket was refused: ${refused.reason}`);
    return socket;
  }

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    ws = await startWs({
      databaseUrl: db.url,
      redisPrefix: redis.prefix,
      // Limits out of the way: this is about what a message holds, not how many (ws-flood.e2e-spec.ts).
      extra: {
        WS_TICK_MS: '100',
        WS_POSITION_INTERVAL_MS: '100',
        WS_EVENTS_PER_SECOND: '100000',
        WS_EVENT_BURST: '100000',
        WS_EVENT_FLOOD_LIMIT: '100000',
      },
    });
    await new RoomConfigStore(redis.client, redis.keys).write(ROOM, { ...ROOM_DEFAULTS, totalActiveUsers: 1, newUsersPerMinute: 600_000 });
    store = new AdmissionStore(redis.client, redis.keys, { graceMs: 600_000 });
    expect((await store.arrive(ROOM)).kind).toBe('admitted'); // takes the one place: everyone after waits
    bystander = await waitingSocket();
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await ws?.close();
    await Promise.all([redis?.cleanup(), db?.drop()]);
  });

  /** The bystander is still connected, in line, and answered. */
  async function bystanderServed(): Promise<void> {
    expect(bystander.connected).toBe(true);
    expect(await bystander.timeout(WAIT_MS).emitWithAck('heartbeat.v1')).toMatchObject({ position: 1 });
  }

  it('refuses arbitrary handshakes with a known reason, or accepts only a genuine ticket', async () => {
    const genuine = await ticketIn();
    const ticketLike = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ maxLength: 120, unit: 'binary' }),
      fc.nat(genuine.length - 1).map((i) => genuine.slice(0, i) + (genuine[i] === 'A' ? 'B' : 'A') + genuine.slice(i + 1)),
    );
    const auth = fc.oneof(
      fc.record({ ticket: ticketLike, room: fc.oneof(fc.constant(ROOM), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(auth, async (value) => {
        const { socket, refused } = await connect(value);
        if (!refused) {
          // Only a genuine ticket of the room gets a socket.
          expect((value as { ticket?: unknown }).ticket).toBe(genuine);
          socket.close();
          return;
        }
        expect(REFUSALS).toContain(refused.reason);
      }),
      { numRuns: RUNS },
    );
    await bystanderServed();
  });

  it('answers heartbeat.v1, leaves on leave.v1 and ignores unknown events, whatever they carry', async () => {
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc.constant(undefined),
    );
    const event = fc.oneof(
      fc.constantFrom('heartbeat.v1', 'leave.v1'),
      fc.string({ minLength: 1, maxLength: 30 }).filter((name) => !RESERVED.has(name) && name !== 'heartbeat.v1' && name !== 'leave.v1'),
    );
    let socket = await waitingSocket();
    await fc.assert(
      fc.asyncProperty(event, fc.array(payload, { maxLength: 3 }), fc.boolean(), async (name, args, withAck) => {
        if (!socket.connected) socket = await waitingSocket();
        if (name === 'heartbeat.v1') {
          // Answered with its place (or null before the first update), whatever else it carries.
          const answer = (await socket.timeout(WAIT_MS).emitWithAck(name, ...args)) as unknown;
          expect(answer === null || typeof (answer as { position?: unknown }).position === 'number').toBe(true);
        } else if (name === 'leave.v1') {
          if (withAck) socket.emit(name, ...args, () => undefined);
          else socket.emit(name, ...args);
          const left = socket;
          await waitFor(() => !left.connected, WAIT_MS, 'the server to close the socket after leave.v1');
        } else {
          if (withAck) socket.emit(name, ...args, () => undefined);
          else socket.emit(name, ...args);
          // Ignored: the socket still works.
          expect(await socket.timeout(WAIT_MS).emitWithAck('heartbeat.v1')).not.toBeUndefined();
        }
      }),
      { numRuns: RUNS },
    );
    await bystanderServed();
    // And the app still takes newcomers.
    const late = await waitingSocket();
    await waitFor(async () => (await late.timeout(WAIT_MS).emitWithAck('heartbeat.v1')) !== null, WAIT_MS, 'a newcomer to hear its place');
  });
});
