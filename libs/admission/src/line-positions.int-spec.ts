/**
 * Exact places in a long line against real Redis: for random leave patterns (single tickets and whole runs, across
 * the 4096-ticket blocks of the gone counts, at any ticket offset), every waiting ticket's position from the status
 * script equals a brute-force count (fast-check; the seed prints on failure).
 */
import fc from 'fast-check';
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomConfigStore } from '@tidegate/redis';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { AdmissionStore } from './admission-store';
import { GoneMirror, type GoneSlice } from './gone-mirror';

const BLOCK = 4096;

describe('AdmissionStore positions over long lines (Redis)', () => {
  let redis: TestRedis;
  let store: AdmissionStore;
  let rooms: RoomConfigStore;
  let roomSeq = 0;

  beforeAll(async () => {
    redis = await createTestRedis();
    store = new AdmissionStore(redis.client, redis.keys, { graceMs: 60_000, claimWindowMs: 60_000 });
    rooms = new RoomConfigStore(redis.client, redis.keys);
  });
  afterAll(() => redis.cleanup());

  /** A room whose line was served up to `offset` (as after a long day), then `length` arrivals queued behind it. */
  async function line(offset: number, length: number): Promise<{ id: string; first: number; last: number }> {
    const id = `long-${++roomSeq}`;
    await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: 1_000_000, newUsersPerMinute: 6_000_000, queueAll: true });
    const k = redis.keys.room(id);
    await redis.client.mset(k.tickets, offset, k.serving, offset);
    for (let issued = 0; issued < length; issued += 1000) {
      const batch = await Promise.all(Array.from({ length: Math.min(1000, length - issued) }, () => store.arrive(id)));
      for (const r of batch) if (r.kind !== 'ticket') throw new Error(`expected a ticket, got ${r.kind}`);
    }
    return { id, first: offset + 1, last: offset + length };
  }

  /** Every ticket's place by brute force: 1 + the tickets after serving and before it that did not leave. */
  function expected(serving: number, last: number, gone: Set<number>): Map<number, number> {
    const out = new Map<number, number>();
    let place = 0;
    for (let t = serving + 1; t <= last; t++) if (!gone.has(t)) out.set(t, ++place);
    return out;
  }

  /** Tickets worth asking about: around every block boundary, around serving, the ends, and a random sample. */
  function probes(serving: number, last: number, random: number[]): number[] {
    const out = new Set<number>([serving + 1, serving + 2, last, last - 1]);
    for (let b = Math.ceil((serving + 1) / BLOCK) * BLOCK; b <= last + 1; b += BLOCK) for (const d of [-2, -1, 0, 1]) out.add(b + d);
    for (const r of random) out.add(serving + 1 + Math.floor(r * (last - serving)));
    return [...out].filter((t) => t > serving && t <= last);
  }

  async function check(id: string, serving: number, last: number, gone: Set<number>, random: number[]): Promise<void> {
    const places = expected(serving, last, gone);
    const asked = probes(serving, last, random);
    const answers = await Promise.all(asked.map((t) => store.status(id, t)));
    asked.forEach((t, i) => {
      const want = gone.has(t) ? { kind: 'expired' } : { kind: 'waiting', position: places.get(t) };
      expect({ ticket: t, ...answers[i] }).toEqual({ ticket: t, ...want });
    });
  }

  const leaves = fc.array(
    fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), run: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 6000 })) }),
    { maxLength: 12 },
  );

  it('positions equal a brute-force count for random leave patterns across block boundaries, before and after a release', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 * BLOCK }), fc.integer({ min: 0, max: 2 ** 31 })),
        fc.integer({ min: 1, max: 3 * BLOCK }),
        leaves,
        leaves,
        fc.integer({ min: 0, max: 2 * BLOCK }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 30, maxLength: 30 }),
        async (offset, length, before, after, admit, random) => {
          const { id, first, last } = await line(offset, length);
          const gone = new Set<number>();
          const leaveAll = async (pattern: Array<{ at: number; run: number }>, from: number) => {
            const tickets: number[] = [];
            for (const { at, run } of pattern) {
              const start = from + Math.floor(at * (last - from + 1));
              for (let t = start; t < start + run && t <= last; t++) {
                if (gone.has(t)) continue;
                tickets.push(t);
                gone.add(t);
              }
            }
            for (const r of await Promise.all(tickets.map((t) => store.leave(id, { ticket: t })))) expect(r.ticketLeft).toBe(true);
          };
          await leaveAll(before, first);
          await check(id, offset, last, gone, random);

          // The releaser admits `admit` of those present, skipping the gone ones in front; then more people leave.
          await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: admit, newUsersPerMinute: 6_000_000, queueAll: false });
          await store.release(id, 900);
          const serving = Number(await redis.client.get(redis.keys.room(id).serving));
          expect(serving).toBeGreaterThanOrEqual(offset);
          if (serving >= last) return; // everyone was served: the line is empty
          await leaveAll(after, serving + 1);
          await check(id, serving, last, new Set([...gone].filter((t) => t > serving)), random);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('a mirrored line view reads the same gone bits as a full one, through leaves, releases, arrivals and resets', async () => {
    const bit = (slice: GoneSlice, t: number) => {
      const i = (t >> 3) - slice.firstByte;
      return i >= 0 && i < slice.bytes.length && ((slice.bytes[i] ?? 0) & (0x80 >> (t & 7))) !== 0;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * BLOCK }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('leave' as const), at: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }) }),
            fc.record({ kind: fc.constant('release' as const), n: fc.integer({ min: 0, max: 3000 }) }),
            fc.record({ kind: fc.constant('arrive' as const), n: fc.integer({ min: 1, max: 3000 }) }),
            fc.constant({ kind: 'empty' as const }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        async (offset, steps) => {
          const { id } = await line(offset, 2 * BLOCK);
          const k = redis.keys.room(id);
          const mirror = new GoneMirror();
          const compare = async () => {
            const tickets = Number(await redis.client.get(k.tickets));
            const mirrored = await store.lineView(id, tickets, mirror);
            const full = await store.lineView(id, tickets);
            expect(mirrored.serving).toBe(full.serving);
            for (let t = full.serving + 1; t <= tickets; t++)
              if (bit(mirrored.gone, t) !== bit(full.gone, t))
                expect({ t, mirrored: bit(mirrored.gone, t) }).toEqual({ t, mirrored: bit(full.gone, t) });
          };
          await compare();
          for (const step of steps) {
            const serving = Number(await redis.client.get(k.serving));
            const tickets = Number(await redis.client.get(k.tickets));
            if (step.kind === 'leave')
              await Promise.all(step.at.map((a) => store.leave(id, { ticket: serving + 1 + Math.floor(a * (tickets - serving)) })));
            else if (step.kind === 'arrive') await Promise.all(Array.from({ length: step.n }, () => store.arrive(id)));
            else {
              // A release of n present tickets (empty: everyone still waiting leaves first, so the line empties).
              if (step.kind === 'empty') for (let t = serving + 1; t <= tickets; t++) await store.leave(id, { ticket: t });
              const n = step.kind === 'empty' ? 1 : step.n;
              await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: 1_000_000, newUsersPerMinute: 6_000_000, queueAll: false });
              await redis.client.del(k.sessions);
              await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: n, newUsersPerMinute: 6_000_000, queueAll: false });
              await store.release(id, 900);
              await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: 1_000_000, newUsersPerMinute: 6_000_000, queueAll: true });
            }
            await compare();
          }
        },
      ),
      { numRuns: 10 },
    );
  });

  it('stays exact after the line empties and its gone counts are reset', async () => {
    const { id, last } = await line(3 * BLOCK - 10, 30);
    for (let t = last - 29; t <= last; t++) await store.leave(id, { ticket: t });
    await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: 10, newUsersPerMinute: 6_000_000, queueAll: true });
    await store.release(id, 900); // queue_all: nobody admitted, the line stays
    await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: 10, newUsersPerMinute: 6_000_000, queueAll: false });
    await store.release(id, 900); // everyone left: the line empties, the gone bitmap and its counts go
    const k = redis.keys.room(id);
    expect(Number(await redis.client.get(k.serving))).toBe(last);
    expect(await redis.client.exists(k.gone, k.goneBlocks)).toBe(0);

    await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: 1_000_000, newUsersPerMinute: 6_000_000, queueAll: true });
    const fresh = await Promise.all(Array.from({ length: 2 * BLOCK }, () => store.arrive(id)));
    const numbers = fresh.map((r) => (r.kind === 'ticket' ? r.ticket : 0)).sort((a, b) => a - b);
    expect(numbers[0]).toBe(last + 1);
    const gone = new Set(numbers.filter((_, i) => i % 3 === 0));
    for (const t of gone) await store.leave(id, { ticket: t });
    await check(
      id,
      last,
      last + 2 * BLOCK,
      gone,
      Array.from({ length: 50 }, (_, i) => i / 50),
    );
  });
});
