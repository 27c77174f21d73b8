/**
 * A line lost and started again (Redis restarted empty, or the room deleted and re-created): ticket numbers restart
 * at 1, so a ticket of the lost line must be told apart from the new line's ticket of the same number by its issue
 * time (the line's start, `line`, is later than any ticket of the lost line). Against real Redis.
 */
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomConfigStore } from '@tidegate/redis';
import { waitFor } from '../../../test/support/processes';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { ticketSessionId, type ArriveResult } from './admission-results';
import { AdmissionStore } from './admission-store';

describe('AdmissionStore: a line started again after it was lost (Redis)', () => {
  let redis: TestRedis;
  let store: AdmissionStore;
  let rooms: RoomConfigStore;
  let roomSeq = 0;

  beforeAll(async () => {
    redis = await createTestRedis();
    // Long grace and presence buckets: nothing here depends on a holder going silent.
    store = new AdmissionStore(redis.client, redis.keys, { graceMs: 10_000, presenceMs: 5_000, claimWindowMs: 10_000 });
    rooms = new RoomConfigStore(redis.client, redis.keys);
  });
  afterAll(() => redis.cleanup());

  const writeRoom = (id: string) => rooms.write(id, { ...ROOM_DEFAULTS, newUsersPerMinute: 6_000_000, totalActiveUsers: 1 });
  const redisSeconds = async () => Number((await redis.client.time())[0]);
  const lineOf = async (id: string) => Number(await redis.client.get(redis.keys.room(id).line));

  function ticketOf(r: ArriveResult): { number: number; issuedAt: number } {
    if (r.kind !== 'ticket') throw new Error(`expected a ticket, got ${r.kind}`);
    return { number: r.ticket, issuedAt: r.issuedAt };
  }

  /** Everything in Redis about the room is lost; a gateway writes the settings back (as after a restart without persistence). */
  async function loseLine(id: string): Promise<void> {
    await store.forgetRoom(id);
    await writeRoom(id);
  }

  it('starts a line at the first ticket: every ticket is issued at or after its start, by the Redis clock', async () => {
    const id = `line-${++roomSeq}`;
    await writeRoom(id);
    expect(await store.arrive(id)).toMatchObject({ kind: 'admitted' });
    const before = await redisSeconds();
    const first = ticketOf(await store.arrive(id));
    const second = ticketOf(await store.arrive(id));
    const line = await lineOf(id);
    expect(line).toBeGreaterThan(before);
    expect(first.issuedAt).toBeGreaterThanOrEqual(line);
    expect(second.issuedAt).toBeGreaterThanOrEqual(line);
    expect(await store.status(id, second)).toEqual({ kind: 'waiting', position: 2 });
  });

  it("treats the lost line's tickets as expired, never as the new line's; their leave and away change nothing; sessions are named with the line", async () => {
    const id = `line-${++roomSeq}`;
    await writeRoom(id);
    const inside = await store.arrive(id);
    const old1 = ticketOf(await store.arrive(id));
    const old2 = ticketOf(await store.arrive(id));
    if (inside.kind === 'admitted') await store.leave(id, { sessionId: inside.sessionId });
    expect(await store.release(id, 900)).toMatchObject({ admitted: 1 });
    const oldSession = await store.status(id, old1);
    if (oldSession.kind !== 'admitted') throw new Error(`expected old ticket 1 admitted, got ${oldSession.kind}`);
    const oldLine = await lineOf(id);
    expect(oldSession.sessionId).toBe(ticketSessionId(oldLine, 1));

    // Two lines started within one second of Redis time are not told apart (documented): a real restart takes longer.
    await waitFor(async () => (await redisSeconds()) >= oldLine, 3_000, 'the second after the old line started');
    await loseLine(id);

    const inside2 = await store.arrive(id);
    expect(inside2).toMatchObject({ kind: 'admitted' });
    const new1 = ticketOf(await store.arrive(id));
    const new2 = ticketOf(await store.arrive(id));
    expect([new1.number, new2.number]).toEqual([old1.number, old2.number]);
    const newLine = await lineOf(id);
    expect(old2.issuedAt).toBeLessThan(newLine);
    expect(new1.issuedAt).toBeGreaterThanOrEqual(newLine);

    // The old tickets are not of this line: expired (their holders queue again), whatever their numbers.
    expect(await store.status(id, old1)).toEqual({ kind: 'expired' });
    expect(await store.status(id, old2)).toEqual({ kind: 'expired' });
    // An old ticket leaving or going away does not touch the new holder of the same number.
    expect(await store.leave(id, { ticket: old2 })).toEqual({ ticketLeft: false, sessionEnded: false });
    await store.away(id, old1);
    expect(await store.status(id, new2)).toEqual({ kind: 'waiting', position: 2 });

    // The new ticket 1 is still present (the old away did not clear it): the freed place is reserved for it, not parked.
    if (inside2.kind === 'admitted') await store.leave(id, { sessionId: inside2.sessionId });
    expect(await store.release(id, 900)).toMatchObject({ admitted: 1, parked: 0 });
    const newSession = await store.status(id, new1);
    expect(newSession).toMatchObject({ kind: 'admitted', sessionId: ticketSessionId(newLine, 1) });
    // The old line's session 1 is not the new line's: an old admission token renews nothing.
    expect(await store.touch(id, oldSession.sessionId)).toBeNull();
    expect(await store.status(id, old1)).toEqual({ kind: 'expired' });
    // Nor does an old ticket end the new line's session of the same number.
    expect(await store.leave(id, { ticket: old1 })).toEqual({ ticketLeft: false, sessionEnded: false });
    expect(await store.status(id, new1)).toMatchObject({ kind: 'admitted' });
  });

  it('counts a line without a recorded start (written before lines had one) as line 0: its tickets stay valid', async () => {
    const id = `line-${++roomSeq}`;
    await writeRoom(id);
    await store.arrive(id);
    const t1 = ticketOf(await store.arrive(id));
    const t2 = ticketOf(await store.arrive(id));
    await redis.client.del(redis.keys.room(id).line);
    expect(await store.status(id, t2)).toEqual({ kind: 'waiting', position: 2 });
    const t3 = ticketOf(await store.arrive(id));
    expect(t3.number).toBe(3);
    expect(await store.leave(id, { ticket: t1 })).toEqual({ ticketLeft: true, sessionEnded: false });
    expect(await store.status(id, t3)).toEqual({ kind: 'waiting', position: 2 });
  });
});
