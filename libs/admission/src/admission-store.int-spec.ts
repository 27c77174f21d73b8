/**
 * The admission scripts against real Redis (standalone here, a 6-node Cluster under `npm run test:cluster`).
 */
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { createRedisClient, RoomConfigStore, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { redisConnection } from '../../../test/support/env';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { ticketSessionId } from './admission-results';
import { AdmissionStore } from './admission-store';

const GRACE_MS = 400;

describe('AdmissionStore (Redis)', () => {
  let redis: TestRedis;
  let store: AdmissionStore;
  let rooms: RoomConfigStore;
  let roomSeq = 0;

  beforeAll(async () => {
    redis = await createTestRedis();
    store = new AdmissionStore(redis.client, redis.keys, { graceMs: GRACE_MS, claimWindowMs: 5_000 });
    rooms = new RoomConfigStore(redis.client, redis.keys);
  });
  afterAll(() => redis.cleanup());

  async function room(settings: Partial<RoomSettings>): Promise<string> {
    const id = `room-${++roomSeq}`;
    await rooms.write(id, { ...ROOM_DEFAULTS, newUsersPerMinute: 6_000_000, ...settings });
    return id;
  }

  const sessions = (id: string) => redis.client.zcard(redis.keys.room(id).sessions);
  /** The room's current line start (sessions of tickets are named with it). */
  const lineOf = async (id: string) => Number(await redis.client.get(redis.keys.room(id).line));

  it('admits up to capacity, then hands out gap-free FIFO tickets, under 1,000 concurrent arrivals', async () => {
    const id = await room({ totalActiveUsers: 100 });
    const results = await Promise.all(Array.from({ length: 1000 }, () => store.arrive(id)));
    const admitted = results.filter((r) => r.kind === 'admitted');
    const tickets = results.flatMap((r) => (r.kind === 'ticket' ? [r.ticket] : []));
    expect(admitted).toHaveLength(100);
    expect(new Set(admitted.map((a) => (a.kind === 'admitted' ? a.sessionId : ''))).size).toBe(100);
    expect(tickets.sort((a, b) => a - b)).toEqual(Array.from({ length: 900 }, (_, i) => i + 1));
    expect(await sessions(id)).toBe(100);
    // Each ticket's place is its number: nobody left yet.
    for (const r of results) if (r.kind === 'ticket') expect(r.position).toBe(r.ticket);
  });

  it('admits tickets strictly in order as sessions end, and the people behind move up', async () => {
    const id = await room({ totalActiveUsers: 3 });
    const first = await Promise.all([store.arrive(id), store.arrive(id), store.arrive(id)]);
    const waiting = [];
    for (let i = 0; i < 6; i++) waiting.push(await store.arrive(id));
    expect(waiting.map((w) => (w.kind === 'ticket' ? w.ticket : 0))).toEqual([1, 2, 3, 4, 5, 6]);

    // Two sessions end: exactly tickets 1 and 2 get their turn, nobody else.
    for (const s of first.slice(0, 2)) if (s.kind === 'admitted') await store.leave(id, { sessionId: s.sessionId });
    const step = await store.release(id, 900);
    expect(step.admitted).toBe(2);
    expect(await store.status(id, 1)).toMatchObject({ kind: 'admitted', sessionId: ticketSessionId(await lineOf(id), 1) });
    expect(await store.status(id, 2)).toMatchObject({ kind: 'admitted' });
    expect(await store.status(id, 3)).toEqual({ kind: 'waiting', position: 1 });
    expect(await store.status(id, 6)).toEqual({ kind: 'waiting', position: 4 });
    expect(await sessions(id)).toBe(3);

    // Ticket 4 leaves the line: 5 and 6 move up at once, and 4 is skipped when its turn comes.
    await store.leave(id, { ticket: 4 });
    expect(await store.status(id, 6)).toEqual({ kind: 'waiting', position: 3 });
    await store.leave(id, { sessionId: ticketSessionId(await lineOf(id), 1) });
    await store.leave(id, { sessionId: ticketSessionId(await lineOf(id), 2) });
    await store.release(id, 900);
    expect(await store.status(id, 3)).toMatchObject({ kind: 'admitted' });
    expect(await store.status(id, 5)).toMatchObject({ kind: 'admitted' });
    expect(await store.status(id, 4)).toEqual({ kind: 'expired' });
    expect(await store.status(id, 6)).toEqual({ kind: 'waiting', position: 1 });
  });

  it('skips a ticket whose holder went silent, so it does not block the line', async () => {
    const id = await room({ totalActiveUsers: 1 });
    const holder = await store.arrive(id);
    const silent = await store.arrive(id);
    const live = await store.arrive(id);
    expect([silent.kind, live.kind]).toEqual(['ticket', 'ticket']);
    // Ticket 2 keeps checking in; ticket 1 never does again. After two grace periods, 1 is no longer live.
    const deadline = Date.now() + GRACE_MS * 2 + 300;
    while (Date.now() < deadline) {
      await store.status(id, 2);
      await new Promise((r) => setTimeout(r, GRACE_MS / 4));
    }
    if (holder.kind === 'admitted') await store.leave(id, { sessionId: holder.sessionId });
    const step = await store.release(id, 900);
    expect(step).toMatchObject({ admitted: 1, skipped: 1 });
    expect(await store.status(id, 2)).toMatchObject({ kind: 'admitted' });
    expect(await store.status(id, 1)).toEqual({ kind: 'expired' });
  });

  it('never admits past capacity with two releasers (two connections) running at once', async () => {
    const id = await room({ totalActiveUsers: 20 });
    const other: RedisClient = createRedisClient(redisConnection(), { name: 'test-second-releaser' });
    // On a Cluster the second connection discovers the slots first: wait for it (it has no offline queue).
    await waitUntilReady(other, 10_000);
    const second = new AdmissionStore(other, redis.keys, { graceMs: 60_000, claimWindowMs: 60_000 });
    try {
      const admittedNow = (await Promise.all(Array.from({ length: 220 }, () => store.arrive(id)))).filter((r) => r.kind === 'admitted');
      expect(admittedNow).toHaveLength(20);
      let maxActive = 0;
      for (let round = 0; round < 10; round++) {
        // Five sessions end, then both releasers race for the free places.
        const members = await redis.client.zrange(redis.keys.room(id).sessions, '0', '4');
        for (const sid of members) await store.leave(id, { sessionId: sid });
        const [a, b] = await Promise.all([store.release(id, 900), second.release(id, 900)]);
        expect(a.admitted + b.admitted).toBe(5);
        maxActive = Math.max(maxActive, await sessions(id), a.snapshot?.active ?? 0, b.snapshot?.active ?? 0);
      }
      expect(maxActive).toBe(20);
      // 50 admitted from the line, in order: tickets 1..50 have sessions, 51 waits first.
      expect(await store.status(id, 50)).toMatchObject({ kind: 'admitted' });
      expect(await store.status(id, 51)).toEqual({ kind: 'waiting', position: 1 });
    } finally {
      other.disconnect();
    }
  });

  it('queue_all queues everyone and admits nobody; reject refuses when full; suspended admits nobody', async () => {
    const queued = await room({ totalActiveUsers: 10, queueAll: true });
    expect(await store.arrive(queued)).toMatchObject({ kind: 'ticket', ticket: 1 });
    expect((await store.release(queued, 900)).admitted).toBe(0);

    const rejecting = await room({ totalActiveUsers: 1, queueingMethod: 'reject' });
    expect(await store.arrive(rejecting)).toMatchObject({ kind: 'admitted' });
    expect(await store.arrive(rejecting)).toEqual({ kind: 'rejected', active: 1 });

    const off = await room({ totalActiveUsers: 1, suspended: true });
    expect(await store.arrive(off)).toMatchObject({ kind: 'ticket', ticket: 1 });
    expect(await sessions(off)).toBe(0);

    const passthrough = await room({ totalActiveUsers: 1, queueingMethod: 'passthrough' });
    await store.arrive(passthrough);
    expect(await store.arrive(passthrough)).toMatchObject({ kind: 'admitted' });
    expect(await sessions(passthrough)).toBe(2);
  });

  it('drains the line when the room switches to passthrough: those already waiting go in', async () => {
    const id = await room({ totalActiveUsers: 1 });
    expect(await store.arrive(id)).toMatchObject({ kind: 'admitted' });
    const waiting = [await store.arrive(id), await store.arrive(id), await store.arrive(id)];
    expect(waiting.map((w) => w.kind)).toEqual(['ticket', 'ticket', 'ticket']);
    await rooms.write(id, { ...ROOM_DEFAULTS, newUsersPerMinute: 6_000_000, totalActiveUsers: 1, queueingMethod: 'passthrough' });
    await store.release(id, 900);
    for (const t of [1, 2, 3])
      expect(await store.status(id, t)).toMatchObject({ kind: 'admitted', sessionId: ticketSessionId(await lineOf(id), t) });
  });

  it('suspended: nobody is admitted, newcomers take a ticket behind those waiting, and the line holds still', async () => {
    const id = await room({ totalActiveUsers: 2 });
    expect(await store.arrive(id)).toMatchObject({ kind: 'admitted' });
    expect(await store.arrive(id)).toMatchObject({ kind: 'admitted' });
    expect(await store.arrive(id)).toMatchObject({ kind: 'ticket', ticket: 1 });
    await rooms.write(id, { ...ROOM_DEFAULTS, newUsersPerMinute: 6_000_000, totalActiveUsers: 10, suspended: true });
    expect(await store.arrive(id)).toMatchObject({ kind: 'ticket', ticket: 2, position: 2 });
    expect((await store.release(id, 900)).admitted).toBe(0);
    expect(await store.status(id, 1)).toEqual({ kind: 'waiting', position: 1 });
    expect(await sessions(id)).toBe(2);
  });

  it('gives a freed place to a waiter who is there, not to an absent holder, who keeps their place during the grace', async () => {
    // Presence is judged over 100 ms buckets; the place of an absent holder is kept for the grace (3 s here).
    const present = new AdmissionStore(redis.client, redis.keys, { graceMs: 3_000, presenceMs: 100, claimWindowMs: 5_000 });
    const id = await room({ totalActiveUsers: 1 });
    const holder = await present.arrive(id);
    const absent = await present.arrive(id); // ticket 1: arrives, then closes the tab
    const there = await present.arrive(id); // ticket 2: keeps checking in
    const later = await present.arrive(id); // ticket 3: keeps checking in
    expect([absent, there, later].map((r) => (r.kind === 'ticket' ? r.ticket : 0))).toEqual([1, 2, 3]);
    for (let i = 0; i < 5; i++) {
      await present.status(id, 2);
      await present.status(id, 3);
      await new Promise((r) => setTimeout(r, 60));
    }
    if (holder.kind === 'admitted') await present.leave(id, { sessionId: holder.sessionId });
    const step = await present.release(id, 900);
    expect(step).toMatchObject({ admitted: 1, parked: 1 });
    expect(await present.status(id, 2)).toMatchObject({ kind: 'admitted', sessionId: ticketSessionId(await lineOf(id), 2) });

    // The absent holder comes back within the grace: not lost, and first in line, ahead of ticket 3.
    expect(await present.status(id, 1)).toEqual({ kind: 'waiting', position: 1 });
    await present.leave(id, { sessionId: ticketSessionId(await lineOf(id), 2) });
    await present.status(id, 3);
    await present.release(id, 900);
    expect(await present.status(id, 1)).toMatchObject({ kind: 'admitted', sessionId: ticketSessionId(await lineOf(id), 1) });
    expect(await present.status(id, 3)).toMatchObject({ kind: 'waiting' });
  });

  it('holds no place for a holder whose socket closed (away), who still gets it back on returning within the grace', async () => {
    const present = new AdmissionStore(redis.client, redis.keys, { graceMs: 5_000, presenceMs: 2_000, claimWindowMs: 5_000 });
    const id = await room({ totalActiveUsers: 1 });
    const holder = await present.arrive(id);
    await present.arrive(id); // ticket 1: connected, then the socket closes
    await present.arrive(id); // ticket 2: still there
    await present.away(id, 1);
    if (holder.kind === 'admitted') await present.leave(id, { sessionId: holder.sessionId });
    expect(await present.release(id, 900)).toMatchObject({ admitted: 1, parked: 1 });
    expect(await present.status(id, 2)).toMatchObject({ kind: 'admitted' });
    expect(await present.status(id, 1)).toEqual({ kind: 'waiting', position: 1 });
    // Leaving for good from the parked state frees the kept place.
    expect(await present.leave(id, { ticket: 1 })).toEqual({ ticketLeft: true, sessionEnded: false });
    expect(await present.status(id, 1)).toEqual({ kind: 'expired' });
  });

  it('forgets a deleted room: a room re-created with the same id starts with no sessions and no tickets', async () => {
    const id = await room({ totalActiveUsers: 1 });
    expect(await store.arrive(id)).toMatchObject({ kind: 'admitted' });
    expect(await store.arrive(id)).toMatchObject({ kind: 'ticket', ticket: 1 });
    await store.release(id, 900);
    expect(await store.forgetRoom(id)).toBeGreaterThan(0);
    await rooms.write(id, { ...ROOM_DEFAULTS, newUsersPerMinute: 6_000_000, totalActiveUsers: 1 });
    expect(await sessions(id)).toBe(0);
    expect(await store.status(id, 1)).toEqual({ kind: 'invalid' });
    expect(await store.arrive(id)).toMatchObject({ kind: 'admitted' });
    expect(await store.arrive(id)).toMatchObject({ kind: 'ticket', ticket: 1, position: 1 });
  });

  it('limits admissions to the configured rate', async () => {
    const id = await room({ totalActiveUsers: 1000, newUsersPerMinute: 60 }); // bucket holds 10
    const results = await Promise.all(Array.from({ length: 30 }, () => store.arrive(id)));
    expect(results.filter((r) => r.kind === 'admitted')).toHaveLength(10);
    expect((await store.release(id, 900)).admitted).toBe(0);
  });

  it('renews a live session on activity and refuses an ended one', async () => {
    const id = await room({ totalActiveUsers: 5, sessionDurationSeconds: 30 });
    const a = await store.arrive(id);
    if (a.kind !== 'admitted') throw new Error('expected an admission');
    const renewed = await store.touch(id, a.sessionId);
    expect(renewed).toBeGreaterThanOrEqual(a.expiresAtMs);
    await store.leave(id, { sessionId: a.sessionId });
    expect(await store.touch(id, a.sessionId)).toBeNull();
    expect(await store.touch(id, 'never-existed')).toBeNull();
  });

  it('says so for unknown rooms and tickets that were never issued', async () => {
    expect(await store.arrive('no-such-room')).toEqual({ kind: 'unknown' });
    const id = await room({ totalActiveUsers: 0 });
    expect(await store.status(id, 99)).toEqual({ kind: 'invalid' });
    const snap = (await store.release('no-such-room', 900)).snapshot;
    expect(snap).toBeNull();
  });

  it('reports a snapshot with waiting, active, measured rate and the oldest ticket age', async () => {
    const id = await room({ totalActiveUsers: 2, maxWaitSeconds: 60 });
    for (let i = 0; i < 7; i++) await store.arrive(id);
    await store.leave(id, { ticket: 5 });
    const { snapshot } = await store.release(id, 60);
    expect(snapshot).toMatchObject({ roomId: id, tickets: 5, serving: 0, gone: 1, waiting: 4, active: 2, admittedPerMinute: 2 });
    // Someone arriving now is fifth in line; without the room's capacity, at the measured 2 a minute: 150 s.
    expect(snapshot?.estimatedWaitSeconds).toBe(150);
    expect(snapshot?.pressure).toBe(2.5);
    expect(snapshot?.oldestTicketAgeSeconds).toBeGreaterThanOrEqual(0);
    // With the capacity (2 places, 2-minute sessions: one a minute once full) blended with the measured rate.
    const withCapacity = (await store.release(id, 60, { totalActiveUsers: 2, newUsersPerMinute: 60, sessionDurationSeconds: 120 }))
      .snapshot;
    expect(withCapacity?.capacity).toEqual({ totalActiveUsers: 2, newUsersPerMinute: 60, sessionDurationSeconds: 120 });
    expect(withCapacity?.estimatedWaitSeconds).toBeGreaterThan(150);
  });

  describe("counting the client's request in the same call (the gateway's one round trip)", () => {
    const windowOf = (id: string, client: string, limit: number, blockMs = 0) => ({
      key: redis.keys.room(id).client(client),
      windowMs: 60_000,
      limit,
      blockMs,
    });

    it('counts arrivals, check-ins and renewals in one window, and refuses the one over the limit without deciding anything', async () => {
      const id = await room({ totalActiveUsers: 1 });
      const window = windowOf(id, 'dev:7', 3);
      const admitted = await store.arriveCounting(id, window);
      expect(admitted).toMatchObject({ count: { hits: 1, blocked: false }, result: { kind: 'admitted' } });
      const waiting = await store.arriveCounting(id, window);
      expect(waiting).toMatchObject({ count: { hits: 2, blocked: false }, result: { kind: 'ticket', ticket: 1, position: 1 } });
      const checkIn = await store.statusCounting(id, 1, window);
      expect(checkIn).toEqual({
        count: { hits: 3, resetMs: expect.any(Number) as unknown, blocked: false },
        result: { kind: 'waiting', position: 1 },
      });
      expect(checkIn.count.resetMs).toBeGreaterThan(50_000);

      const refused = await store.arriveCounting(id, window);
      expect(refused).toEqual({ count: { hits: 4, resetMs: expect.any(Number) as unknown, blocked: true }, result: null });
      // Nothing was decided: no ticket was handed out.
      expect(await redis.client.get(redis.keys.room(id).tickets)).toBe('1');
      const sessionId = admitted.result?.kind === 'admitted' ? admitted.result.sessionId : '';
      expect(await store.touchCounting(id, sessionId, window)).toMatchObject({ count: { hits: 5, blocked: true }, result: null });
      expect(await store.statusCounting(id, 1, window)).toMatchObject({ count: { blocked: true }, result: null });

      // Another client, and the uncounted calls, are not affected.
      expect(await store.touchCounting(id, sessionId, windowOf(id, 'dev:8', 3))).toMatchObject({
        count: { hits: 1, blocked: false },
        result: expect.any(Number) as unknown,
      });
      expect(await store.status(id, 1)).toEqual({ kind: 'waiting', position: 1 });
    });

    it('allows exactly `limit` of 200 concurrent arrivals of one client, and hands out a ticket to each of those only', async () => {
      const id = await room({ totalActiveUsers: 0 });
      const replies = await Promise.all(Array.from({ length: 200 }, () => store.arriveCounting(id, windowOf(id, 'ip:10.0.0.1', 37))));
      expect(replies.filter((r) => !r.count.blocked)).toHaveLength(37);
      expect(await redis.client.get(redis.keys.room(id).tickets)).toBe('37');
    });

    it('keeps its key in the room, so deleting the room deletes the counters', async () => {
      const id = await room({});
      await store.arriveCounting(id, windowOf(id, 'dev:1', 10));
      expect(await redis.client.exists(redis.keys.room(id).client('dev:1'))).toBe(1);
      await store.forgetRoom(id);
      expect(await redis.client.exists(redis.keys.room(id).client('dev:1'))).toBe(0);
    });
  });
});
