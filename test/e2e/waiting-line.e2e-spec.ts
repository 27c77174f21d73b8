/**
 * What people waiting in a room notice: a gateway and a ws process share one Redis; some wait by polling the JSON
 * status, some over socket.io.
 * - Someone whose socket closed holds no place: a freed place goes to the next one who is there, and the one who
 *   went away gets their place back on returning within the grace period (issue 9, defect 6).
 * When an SRE switches the room's mode:
 * - `passthrough`: the line drains, everyone waiting goes in (issue 9, defect 4).
 * - `suspended`: waiting sockets are told at once (`roomPaused.v1`, reason `suspended`), newcomers get the waiting
 *   JSON saying so instead of walking in, and when it reopens the line moves on in order (issue 9, defect 5).
 */
import { io, type Socket } from 'socket.io-client';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { RoomRepository } from '@tidegate/database';
import { RoomConfigStore } from '@tidegate/redis';
import { RoomRegistry } from '../../apps/gateway/src/admission/room-registry';
import { startGateway, startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';

type Json = Record<string, unknown>;

interface Waiter {
  ticket: string;
  socket: Socket;
  events: Array<[string, unknown]>;
}

describe('the waiting line, as the people in it notice it', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: FakeOrigin;
  let gateway: RunningApp;
  let ws: RunningApp;
  let rooms: RoomConfigStore;
  const sockets: Socket[] = [];
  let seq = 0;

  beforeAll(async () => {
    [db, redis, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startFakeOrigin()]);
    const base = { databaseUrl: db.url, redisPrefix: redis.prefix };
    [gateway, ws] = await Promise.all([
      startGateway({ ...base, extra: { RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '100', THROTTLE_LIMIT: '100000' } }),
      startWs({ ...base, extra: { WS_TICK_MS: '100', WS_POSITION_INTERVAL_MS: '100' } }),
    ]);
    rooms = new RoomConfigStore(redis.client, redis.keys);
  });

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await Promise.all([gateway?.close(), ws?.close()]);
    await origin?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const settingsOf = (changes: Partial<RoomSettings>): RoomSettings => ({
    ...ROOM_DEFAULTS,
    totalActiveUsers: 1,
    newUsersPerMinute: 600_000,
    ...changes,
  });

  /** Creates a full room (one place, taken) as the admin API does, and waits for the gateway to serve it. */
  async function fullRoom(): Promise<{ id: string; holderToken: string }> {
    const id = `modes-${++seq}`;
    const settings = settingsOf({});
    await gateway.app.get(RoomRepository).create({ id, name: id, originUrl: origin.url, paths: [`/${id}/*`], ...settings });
    await rooms.write(id, settings);
    await waitFor(() => gateway.app.get(RoomRegistry).get(id) !== null, 5000, 'the gateway to load the room');
    const first = await visit(id);
    expect(first.headers.get('x-origin')).toBe('fake');
    return { id, holderToken: first.headers.get('x-tidegate-token')! };
  }

  /** Changes a room's settings as the admin API does (PostgreSQL, then the hot copy and the version bump). */
  async function change(id: string, changes: Partial<RoomSettings>): Promise<void> {
    await gateway.app.get(RoomRepository).update(id, changes);
    await rooms.write(id, settingsOf(changes));
    await waitFor(
      () => Object.entries(changes).every(([k, v]) => gateway.app.get(RoomRegistry).get(id)?.settings[k as keyof RoomSettings] === v),
      5000,
      'the gateway to apply the change',
    );
  }

  const visit = (id: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/${id}/page`, { headers: { accept: 'application/json', ...headers } });
  const poll = async (id: string, ticket: string) =>
    (await (await fetch(`${gateway.url}/rooms/${id}/status`, { headers: { 'x-tidegate-ticket': ticket } })).json()) as Json;

  async function waitingTicket(id: string): Promise<string> {
    const body = (await (await visit(id)).json()) as Json;
    expect(body.inWaitingRoom).toBe(true);
    return body.ticket as string;
  }

  async function socketWaiter(id: string, ticket?: string): Promise<Waiter> {
    ticket ??= await waitingTicket(id);
    const events: Array<[string, unknown]> = [];
    const socket = io(ws.url, { auth: { ticket, room: id }, transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    socket.onAny((event: string, payload: unknown) => events.push([event, payload]));
    await waitFor(() => events.some(([e]) => e === 'position.v1'), 5000, 'the socket to get its place');
    return { ticket, socket, events };
  }

  const got = (w: Waiter, event: string) => w.events.filter(([e]) => e === event).map(([, p]) => p);

  it('gives a freed place to the next one who is there, not to one whose socket closed, who gets it back on returning', async () => {
    const { id, holderToken } = await fullRoom();
    const gone = await socketWaiter(id);
    const there = await socketWaiter(id);
    gone.socket.disconnect(); // closed the tab, without leaving

    await fetch(`${gateway.url}/rooms/${id}/leave`, { method: 'POST', headers: { 'x-tidegate-token': holderToken } });
    await waitFor(() => got(there, 'admitted.v1').length === 1, 5000, 'the next one who is there to be let in');

    // Back within the grace period: first in line again, and in at the next free place.
    const back = await socketWaiter(id, gone.ticket);
    expect(got(back, 'position.v1')).toEqual([{ position: 1, aheadOfYou: 0, etaSeconds: null }]);
    const { token } = got(there, 'admitted.v1')[0] as { token: string };
    await fetch(`${gateway.url}/rooms/${id}/leave`, { method: 'POST', headers: { 'x-tidegate-token': token } });
    await waitFor(() => got(back, 'admitted.v1').length === 1, 5000, 'the one who came back to be let in');
  });

  it('lets everyone already waiting in when the room switches to passthrough, over the JSON poll and the socket', async () => {
    const { id } = await fullRoom();
    const poller = await waitingTicket(id);
    const live = await socketWaiter(id);
    const pollerLater = await waitingTicket(id);
    expect((await poll(id, poller)).inWaitingRoom).toBe(true);

    await change(id, { queueingMethod: 'passthrough' });

    let admitted: Json = {};
    await waitFor(
      async () => {
        admitted = await poll(id, poller);
        return admitted.inWaitingRoom === false;
      },
      5000,
      'the polling waiter to be let in',
    );
    expect(admitted.token).toMatch(/^ey/);
    await waitFor(() => got(live, 'admitted.v1').length === 1, 5000, 'the socket waiter to be let in');
    await waitFor(async () => (await poll(id, pollerLater)).inWaitingRoom === false, 5000, 'the last waiter to be let in');
    // A newcomer walks straight in.
    expect((await visit(id)).headers.get('x-origin')).toBe('fake');
  });

  it('tells waiting sockets the room is suspended, keeps newcomers out behind them, and moves on in order when it reopens', async () => {
    const { id, holderToken } = await fullRoom();
    const first = await socketWaiter(id);
    const second = await socketWaiter(id);

    await change(id, { suspended: true });
    for (const w of [first, second]) {
      await waitFor(() => got(w, 'roomPaused.v1').length > 0, 5000, 'the socket to be told the room is suspended');
      expect(got(w, 'roomPaused.v1')).toEqual([{ reason: 'suspended', message: null }]);
    }

    // A newcomer does not walk in: it gets the waiting JSON, which says the room is suspended, and a place behind.
    const newcomer = await visit(id);
    expect(newcomer.headers.get('x-origin')).toBeNull();
    const body = (await newcomer.json()) as Json;
    expect(body).toMatchObject({ inWaitingRoom: true, suspended: true, position: 3 });
    // The session admitted before the suspension goes on.
    expect((await visit(id, { 'x-tidegate-token': holderToken })).headers.get('x-origin')).toBe('fake');

    // Reopened: the sockets hear it, and the place the holder frees goes to the first in line.
    await change(id, { suspended: false });
    await waitFor(() => got(first, 'roomResumed.v1').length === 1, 5000, 'the socket to be told the room reopened');
    await fetch(`${gateway.url}/rooms/${id}/leave`, { method: 'POST', headers: { 'x-tidegate-token': holderToken } });
    await waitFor(() => got(first, 'admitted.v1').length === 1, 5000, 'the first in line to be let in');
    expect(got(second, 'admitted.v1')).toEqual([]);
    expect((await poll(id, body.ticket as string)).inWaitingRoom).toBe(true);
  });
});
