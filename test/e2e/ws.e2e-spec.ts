/** The ws app's handshake: only a genuine, current ticket of the room gets a socket, and the reason is machine-readable. */
import { io, type Socket } from 'socket.io-client';
import { ticketSessionId, TicketSigner } from '@tidegate/admission';
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomConfigStore } from '@tidegate/redis';
import { AdmissionStore } from '@tidegate/admission';
import { startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv } from '../support/env';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

type Received = Array<[string, unknown]>;

/** Connects; events are recorded from the first moment (the server speaks as soon as the socket is accepted). */
function connect(
  url: string,
  auth: Record<string, unknown>,
): Promise<{ socket?: Socket; events: Received; refused?: { message: string; reason?: string } }> {
  return new Promise((resolve) => {
    const events: Received = [];
    const socket: Socket = io(url, { auth, transports: ['websocket'], reconnection: false, timeout: 15_000 });
    socket.onAny((event: string, payload: unknown) => events.push([event, payload]));
    socket.on('connect', () => resolve({ socket, events }));
    socket.on('connect_error', (err: Error & { data?: { reason?: string } }) => {
      socket.disconnect();
      resolve({ events, refused: { message: err.message, reason: err.data?.reason } });
    });
  });
}

describe('ws handshake', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let ws: RunningApp;
  let store: AdmissionStore;
  const signer = new TicketSigner(admissionEnv().TICKET_SECRET!);
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    ws = await startWs({ databaseUrl: db.url, redisPrefix: redis.prefix, extra: { WS_TICK_MS: '50', WS_POSITION_INTERVAL_MS: '50' } });
    const rooms = new RoomConfigStore(redis.client, redis.keys);
    for (const id of ['shop', 'other']) await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: 1, newUsersPerMinute: 600_000 });
    store = new AdmissionStore(redis.client, redis.keys, { graceMs: 60_000 });
  });

  afterAll(async () => {
    await ws?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  /** A real place in line: the room is full, so the arrival gets a ticket. */
  async function ticketIn(roomId: string): Promise<string> {
    for (;;) {
      const r = await store.arrive(roomId);
      if (r.kind === 'ticket') return signer.sign({ roomId, number: r.ticket, issuedAt: r.issuedAt });
    }
  }

  it('accepts a genuine ticket and tells it its place at once', async () => {
    const ticket = await ticketIn('shop');
    const { socket, events } = await connect(ws.url, { ticket, room: 'shop' });
    expect(socket?.connected).toBe(true);
    await waitFor(() => events.length > 0, 3000, 'the first position');
    expect(events[0]).toEqual(['position.v1', { position: 1, aheadOfYou: 0, etaSeconds: null }]);
    const ack = (await socket!.emitWithAck('heartbeat.v1')) as unknown;
    expect(ack).toMatchObject({ position: 1 });
    socket!.emit('leave.v1');
    await waitFor(() => !socket!.connected, 3000, 'the server to close the socket after leave');
    expect((await store.status('shop', Number(ticket.split('.')[1]))).kind).toBe('expired');
  });

  it('keeps the place of a client that reconnects with its ticket', async () => {
    const ticket = await ticketIn('shop');
    const first = await connect(ws.url, { ticket, room: 'shop' });
    await waitFor(() => first.events.length > 0, 3000, 'the first position');
    const place = (first.events[0]?.[1] as { position: number }).position;
    first.socket!.disconnect();
    const again = await connect(ws.url, { ticket, room: 'shop' });
    await waitFor(() => again.events.length > 0, 3000, 'the position after reconnecting');
    expect(again.events[0]).toEqual(['position.v1', expect.objectContaining({ position: place })]);
    again.socket!.disconnect();
  });

  it.each([
    ['no ticket', () => ({}), 'ticket_missing'],
    ['a forged ticket', () => ({ ticket: 'shop.1.1.AAAAAAAAAAAAAAAAAAAAAA', room: 'shop' }), 'ticket_invalid'],
    ['garbage', () => ({ ticket: 'x', room: 'shop' }), 'ticket_invalid'],
    [
      'a ticket of another room',
      () => ({ ticket: signer.sign({ roomId: 'other', number: 1, issuedAt: now() }), room: 'shop' }),
      'ticket_other_room',
    ],
    [
      'a ticket too old',
      () => ({ ticket: signer.sign({ roomId: 'shop', number: 1, issuedAt: now() - 90_000 }), room: 'shop' }),
      'ticket_expired',
    ],
    [
      'a ticket never issued',
      () => ({ ticket: signer.sign({ roomId: 'shop', number: 99_999, issuedAt: now() }), room: 'shop' }),
      'ticket_expired',
    ],
    ['a room that does not exist', () => ({ ticket: signer.sign({ roomId: 'ghost', number: 1, issuedAt: now() }) }), 'room_unknown'],
  ])('refuses %s, saying why', async (_what, auth, reason) => {
    const { refused, socket } = await connect(ws.url, auth());
    socket?.disconnect();
    expect(refused?.reason).toBe(reason);
    expect(refused?.message).toEqual(expect.any(String));
  });

  it('does not let an admitted ticket queue again once its session is over', async () => {
    const ticket = await ticketIn('other');
    const number = Number(ticket.split('.')[1]);
    // Free the room: end every session; the releaser reserves the place for our ticket.
    for (const sid of await redis.client.zrange(redis.keys.room('other').sessions, '0', '-1'))
      await store.leave('other', { sessionId: sid });
    await store.release('other', 900);
    const { socket, events } = await connect(ws.url, { ticket, room: 'other' });
    await waitFor(() => events.length > 0, 3000, 'admission');
    expect(events[0]?.[0]).toBe('admitted.v1');
    expect((events[0]?.[1] as { token: string }).token).toMatch(/^ey/);
    socket!.disconnect();
    const line = Number(await redis.client.get(redis.keys.room('other').line));
    await store.leave('other', { sessionId: ticketSessionId(line, number) });
    const again = await connect(ws.url, { ticket, room: 'other' });
    again.socket?.disconnect();
    expect(again.refused?.reason).toBe('ticket_expired');
  });

  it('refuses handshakes past WS_MAX_SOCKETS with server_full, and accepts again once a socket leaves', async () => {
    const capped = await startWs({ databaseUrl: db.url, redisPrefix: redis.prefix, extra: { WS_MAX_SOCKETS: '2' } });
    try {
      const held = [
        await connect(capped.url, { ticket: await ticketIn('shop'), room: 'shop' }),
        await connect(capped.url, { ticket: await ticketIn('shop'), room: 'shop' }),
      ];
      expect(held.every((h) => h.socket?.connected)).toBe(true);
      const third = await ticketIn('shop');
      const refused = await connect(capped.url, { ticket: third, room: 'shop' });
      expect(refused.refused?.reason).toBe('server_full');
      held[0]!.socket!.disconnect();
      await waitFor(
        async () => {
          const again = await connect(capped.url, { ticket: third, room: 'shop' });
          again.socket?.disconnect();
          return again.socket !== undefined;
        },
        3000,
        'a place on the capped ws process',
      );
      held[1]!.socket!.disconnect();
    } finally {
      await capped.close();
    }
  });

  it('serves health next to socket.io on the same port', async () => {
    expect((await fetch(`${ws.url}/health/ready`)).status).toBe(200);
  });
});
