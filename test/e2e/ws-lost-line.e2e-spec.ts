/**
 * A socket waiting with a ticket of a line that Redis lost (issue #11): the ws app must not go on placing it in the
 * new line by its number (numbers start at 1 again); at its next tick it tells the socket its ticket expired, so the
 * holder queues again, while a socket holding the new line's ticket of the same number keeps its place.
 */
import { io, type Socket } from 'socket.io-client';
import { AdmissionStore, TicketSigner } from '@tidegate/admission';
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomConfigStore } from '@tidegate/redis';
import { startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv } from '../support/env';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

const ROOM = 'shop';

describe('ws: a socket holding a ticket of a lost line', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let ws: RunningApp;
  let store: AdmissionStore;
  let rooms: RoomConfigStore;
  const signer = new TicketSigner(admissionEnv().TICKET_SECRET!);
  const sockets: Socket[] = [];

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    ws = await startWs({ databaseUrl: db.url, redisPrefix: redis.prefix, extra: { WS_TICK_MS: '50', WS_POSITION_INTERVAL_MS: '50' } });
    rooms = new RoomConfigStore(redis.client, redis.keys);
    store = new AdmissionStore(redis.client, redis.keys, { graceMs: 60_000 });
  });

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await ws?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const writeRoom = () => rooms.write(ROOM, { ...ROOM_DEFAULTS, totalActiveUsers: 1, newUsersPerMinute: 600_000 });

  /** A waiting ticket of the room's current line, signed as the gateway signs it. */
  async function waitingTicket(): Promise<{ number: number; value: string }> {
    for (let i = 0; i < 5; i++) {
      const r = await store.arrive(ROOM);
      if (r.kind === 'ticket') return { number: r.ticket, value: signer.sign({ roomId: ROOM, number: r.ticket, issuedAt: r.issuedAt }) };
    }
    throw new Error('no ticket: the room should be full');
  }

  function watch(ticket: string): { socket: Socket; events: string[] } {
    const events: string[] = [];
    const socket = io(ws.url, { auth: { ticket, room: ROOM }, transports: ['websocket'], reconnection: false });
    socket.onAny((event: string) => events.push(event));
    sockets.push(socket);
    return { socket, events };
  }

  it("is told its ticket expired once the line is lost and started again; the new line's ticket of its number keeps its place", async () => {
    await writeRoom();
    const old = await waitingTicket();
    const oldSocket = watch(old.value);
    await waitFor(() => oldSocket.events.includes('position.v1'), 5000, 'the old ticket placed');
    const oldLine = Number(await redis.client.get(redis.keys.room(ROOM).line));

    // Redis loses the room's line (its settings written back, as a gateway does): lines started in the same second
    // of Redis time are not told apart, so the new one starts a second later at least.
    await waitFor(async () => Number((await redis.client.time())[0]) >= oldLine, 3000, 'the second after the old line started');
    await store.forgetRoom(ROOM);
    await writeRoom();
    const fresh = await waitingTicket();
    expect(fresh.number).toBe(old.number);
    const freshSocket = watch(fresh.value);
    await waitFor(() => freshSocket.events.includes('position.v1'), 5000, 'the new ticket placed');

    await waitFor(() => oldSocket.events.includes('ticketExpired.v1'), 5000, 'the old socket told its ticket expired');
    await waitFor(() => !oldSocket.socket.connected, 5000, 'the old socket closed');
    expect(freshSocket.events).not.toContain('ticketExpired.v1');
    expect(freshSocket.socket.connected).toBe(true);
    expect(await store.status(ROOM, fresh.number)).toEqual({ kind: 'waiting', position: 1 });
  });
});
