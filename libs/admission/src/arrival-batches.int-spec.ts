/**
 * Batched arrivals (issue #12) against real Redis: the arrivals of one room that go to arrive-11+.lua in one script
 * call must each be decided exactly as if each had run in a call of its own, and leave the room's keys as those calls
 * would. Differential and property-based (fast-check, seeded; the seed prints on failure): for a random room state and
 * a random run of arrivals, rooms with identical settings and prior state get the arrivals one call each (A), in one
 * call (B), and in one turn interleaved with B's (C: the batches are grouped per room); every answer and every key of
 * the three must agree, up to what depends on the clock (session ids, expiries, issue times, the line's start).
 * Standalone here, a 6-node Cluster under `npm run test:cluster`.
 */
import fc from 'fast-check';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { createRedisClient, RoomConfigStore, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { redisConnection } from '../../../test/support/env';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import type { ArriveResult, ClientWindow, Counted } from './admission-results';
import { AdmissionStore, type AdmissionOptions } from './admission-store';
import { MAX_ARRIVALS_PER_BATCH } from './arrival-batches';

const GRACE_MS = 60_000;
const PRESENCE_MS = 30_000;
const WINDOW_MS = 60_000;
/** A fixed seed per property: a failure is reproducible, and its seed and path print with it. */
const SEED = 0x12_ba7c;

/**
 * The clients arrivals come from, in every room: 0 is not counted (store.arrive), 1 and 2 have a throttle window with
 * a limit of 2 and 50 requests.
 */
const CLIENT_LIMITS = [0, 2, 50] as const;
type ClientIndex = 0 | 1 | 2;

type Method = RoomSettings['queueingMethod'];

interface Scenario {
  /** null: the room has no settings (unknown). */
  settings: {
    method: Method;
    queueAll: boolean;
    suspended: boolean;
    total: number;
    /** 6 and 12 a minute: a bucket of 1 and 2 tokens that refills one in 10 s and 5 s; or, in effect, unlimited. */
    rpm: number;
    originFactor: 1 | 0.5 | 0;
  } | null;
  /** Sessions already there (expiring in 10 minutes), and expired ones not yet dropped. */
  liveSessions: number;
  expiredSessions: number;
  /** The tickets counter before the prior arrivals: missing (a fresh room: the first ticket starts the line) or set. */
  tickets: { set: number; line: number | null } | null;
  /** Arrivals made one call each before the run, under the room's settings or while it queued everyone. */
  priorArrivals: number;
  priorQueueAll: boolean;
  /**
   * How serving moved afterwards: a releaser step, a SET (to the last ticket: nobody waits; or to a number at most one
   * past it), or not at all.
   */
  serving: { kind: 'none' } | { kind: 'release' } | { kind: 'caught up' } | { kind: 'set'; at: number };
  gone: number;
  /** Requests clients 1 and 2 made in this window before the run. */
  priorHits: [number, number];
  blockMs: 0 | 120_000;
  arrivals: ClientIndex[];
}

const settingsArb = fc.record({
  method: fc.constantFrom<Method>('fifo', 'fifo', 'fifo', 'reject', 'reject', 'passthrough'),
  queueAll: fc.constantFrom(false, false, false, true),
  suspended: fc.constantFrom(false, false, false, false, false, true),
  total: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(1000)),
  rpm: fc.constantFrom(6, 12, 6_000_000),
  originFactor: fc.constantFrom<1 | 0.5 | 0>(1, 1, 1, 0.5, 0),
});

function scenarioArb(minArrivals: number, maxArrivals: number): fc.Arbitrary<Scenario> {
  return fc.record({
    settings: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 11, arbitrary: settingsArb }),
    liveSessions: fc.integer({ min: 0, max: 5 }),
    expiredSessions: fc.integer({ min: 0, max: 2 }),
    tickets: fc.oneof(
      { weight: 2, arbitrary: fc.constant(null) },
      {
        weight: 3,
        arbitrary: fc.record({ set: fc.integer({ min: 0, max: 40 }), line: fc.constantFrom<number | null>(null, 1_000_000_000) }),
      },
    ),
    priorArrivals: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 8 })),
    priorQueueAll: fc.boolean(),
    serving: fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.constant({ kind: 'release' as const }),
      fc.constant({ kind: 'caught up' as const }),
      fc.record({ kind: fc.constant('set' as const), at: fc.integer({ min: 0, max: 60 }) }),
    ),
    gone: fc.integer({ min: 0, max: 3 }),
    priorHits: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
    blockMs: fc.constantFrom<0 | 120_000>(0, 120_000),
    arrivals: fc.array(fc.constantFrom<ClientIndex>(0, 0, 1, 2), { minLength: minArrivals, maxLength: maxArrivals }),
  });
}

describe('batched arrivals (arrive-11+.lua, Redis): each decided as if alone', () => {
  let redis: TestRedis;
  let rooms: RoomConfigStore;
  /** One script call per arrival: the flush runs at once, and each arrival is awaited before the next. */
  let sequential: AdmissionStore;
  /** The turn's flush is held until the test runs it: everything issued before goes in one call (per room). */
  let batched: AdmissionStore;
  let heldFlush: (() => void) | null = null;
  /** A connection of its own for the batching store, so its script calls can be counted. */
  let batchClient: RedisClient;
  let roomSeq = 0;
  /** The stores' clock, fixed: both name the same seen and present buckets for the whole file. */
  const clockMs = Date.now();
  const seenBucket = Math.floor(clockMs / GRACE_MS);
  const presentBucket = Math.floor(clockMs / PRESENCE_MS);

  beforeAll(async () => {
    redis = await createTestRedis();
    rooms = new RoomConfigStore(redis.client, redis.keys);
    const options: AdmissionOptions = { graceMs: GRACE_MS, presenceMs: PRESENCE_MS };
    sequential = new AdmissionStore(redis.client, redis.keys, { ...options, scheduleArrivals: (fn) => fn() }, () => clockMs);
    batchClient = createRedisClient(redisConnection(), { name: 'test-arrival-batches' });
    await waitUntilReady(batchClient, 10_000);
    batched = new AdmissionStore(
      batchClient,
      redis.keys,
      {
        ...options,
        scheduleArrivals: (fn) => {
          heldFlush = fn;
        },
      },
      () => clockMs,
    );
  });
  afterAll(async () => {
    batchClient.disconnect();
    await redis.cleanup();
  });

  /** Runs the batching store's held flush (the end of the turn). */
  function endTurn(): void {
    const flush = heldFlush;
    heldFlush = null;
    flush?.();
  }

  /** Script calls the batching store sends while `fn` runs (EVALSHA, or EVAL after a NOSCRIPT). */
  async function countScriptCalls<T>(fn: () => Promise<T>): Promise<{ calls: number; value: T }> {
    const client = batchClient as unknown as { sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown };
    const original = client.sendCommand;
    let calls = 0;
    const spy = jest.spyOn(client, 'sendCommand').mockImplementation(function (this: unknown, command, ...rest) {
      if (command.name === 'evalsha' || command.name === 'eval') calls++;
      return original.call(this, command, ...rest);
    });
    try {
      const value = await fn();
      return { calls, value };
    } finally {
      spy.mockRestore();
    }
  }

  const keysOf = (id: string) => redis.keys.room(id);
  const clientWindow = (id: string, client: ClientIndex, blockMs: number): ClientWindow | null =>
    client === 0 ? null : { key: keysOf(id).client(`c${client}`), windowMs: WINDOW_MS, limit: CLIENT_LIMITS[client], blockMs };

  function arriveWith(store: AdmissionStore, id: string, client: ClientIndex, blockMs: number): Promise<Counted<ArriveResult>> {
    const window = clientWindow(id, client, blockMs);
    if (window) return store.arriveCounting(id, window);
    return store.arrive(id).then((result) => ({ count: { hits: 0, resetMs: 0, blocked: false }, result }));
  }

  function settingsOf(s: NonNullable<Scenario['settings']>, queueAll = s.queueAll): RoomSettings {
    return {
      ...ROOM_DEFAULTS,
      totalActiveUsers: s.total,
      newUsersPerMinute: s.rpm,
      sessionDurationSeconds: 300,
      queueingMethod: s.method,
      queueAll,
      suspended: s.suspended,
    };
  }

  /** Builds the scenario's prior state in a new room (every step one call, so rooms built alike end alike). */
  async function prepare(s: Scenario): Promise<{ id: string; release: unknown; names: Map<string, string> }> {
    const id = `r${++roomSeq}`;
    const k = keysOf(id);
    const c = redis.client;
    const farFuture = (await nowMs()) + 600_000;
    // The sessions of prior arrivals, named alike in every room built from this scenario.
    const names = new Map<string, string>();
    for (let i = 0; i < s.liveSessions; i++) await c.zadd(k.sessions, farFuture, `pre-live-${i}`);
    for (let i = 0; i < s.expiredSessions; i++) await c.zadd(k.sessions, 1000 + i, `pre-expired-${i}`);
    if (s.tickets) {
      await c.set(k.tickets, s.tickets.set);
      if (s.tickets.line !== null) await c.set(k.line, s.tickets.line);
    }
    if (s.settings) {
      await rooms.write(id, settingsOf(s.settings, s.priorQueueAll || s.settings.queueAll));
      if (s.settings.originFactor !== 1) await rooms.writeOriginFactor(id, s.settings.originFactor);
      for (let i = 0; i < s.priorArrivals; i++) {
        const prior = await sequential.arrive(id);
        if (prior.kind === 'admitted') names.set(prior.sessionId, `prior-${i}`);
      }
      if (s.priorQueueAll) await rooms.write(id, settingsOf(s.settings));
    }
    let release: unknown = null;
    if (s.serving.kind === 'release' && s.settings) {
      const step = await sequential.release(id, 900);
      release = { admitted: step.admitted, skipped: step.skipped, parked: step.parked };
    } else if (s.serving.kind === 'set' || s.serving.kind === 'caught up') {
      const tickets = Number((await c.get(k.tickets)) ?? 0);
      await c.set(k.serving, s.serving.kind === 'set' ? Math.min(s.serving.at, tickets + 1) : tickets);
    }
    const tickets = Number((await c.get(k.tickets)) ?? 0);
    const serving = Number((await c.get(k.serving)) ?? 0);
    const gone = Math.min(s.gone, Math.max(0, tickets - serving));
    if (gone > 0) await c.set(k.goneCount, gone);
    if (s.priorHits[0] > 0) await c.set(k.client('c1'), s.priorHits[0], 'PX', WINDOW_MS);
    if (s.priorHits[1] > 0) await c.set(k.client('c2'), s.priorHits[1], 'PX', WINDOW_MS);
    return { id, release, names };
  }

  async function nowMs(): Promise<number> {
    const [s, us] = await redis.client.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  async function lineOf(id: string): Promise<number | null> {
    const line = await redis.client.get(keysOf(id).line);
    return line === null ? null : Number(line);
  }

  /**
   * Each answer, with what depends on the clock checked against the room's keys and then named for comparison: an
   * admitted arrival's session is in the room with its expiry as its score (then named `a<i>`), a ticket's issue time
   * is at or after the room's line (and not after now).
   */
  async function normalise(
    id: string,
    answers: Array<Counted<ArriveResult>>,
    lineBefore: number | null,
    namesBefore: Map<string, string>,
    oneInstant: boolean,
  ) {
    const k = keysOf(id);
    const lineAfter = await lineOf(id);
    const nowS = Math.floor((await nowMs()) / 1000);
    const names = new Map(namesBefore);
    const out = [];
    for (const [i, { count, result }] of answers.entries()) {
      const c = { hits: count.hits, blocked: count.blocked, counted: count.resetMs > 0 };
      if (count.hits > 0) expect(count.resetMs).toBeGreaterThan(0);
      else expect(count.resetMs).toBe(0);
      if (result === null) {
        out.push({ i, count: c, result: null });
        continue;
      }
      switch (result.kind) {
        case 'admitted': {
          expect(names.has(result.sessionId)).toBe(false);
          names.set(result.sessionId, `a${i}`);
          expect({ i, score: Number(await redis.client.zscore(k.sessions, result.sessionId)) }).toEqual({ i, score: result.expiresAtMs });
          out.push({ i, count: c, result: { kind: 'admitted' } });
          break;
        }
        case 'ticket': {
          // Of the current line: at or after its start; and at most a second ahead of now (a new line starts at now + 1).
          expect(result.issuedAt).toBeGreaterThanOrEqual(lineAfter ?? 0);
          expect(result.issuedAt).toBeLessThanOrEqual(Math.max(nowS, lineAfter ?? 0));
          // A line begun by this batch starts at now + 1: every ticket of the batch is issued at its start.
          if (oneInstant && lineAfter !== lineBefore) expect({ i, issuedAt: result.issuedAt }).toEqual({ i, issuedAt: lineAfter });
          out.push({ i, count: c, result: { kind: 'ticket', ticket: result.ticket, position: result.position } });
          break;
        }
        default:
          out.push({ i, count: c, result });
      }
    }
    return { answers: out, names, lineChanged: lineAfter !== lineBefore, lineSet: lineAfter !== null };
  }

  /** The room's keys after the run, with session ids named by `names` and the line's start taken out. */
  async function keysAfter(id: string, names: Map<string, string>) {
    const k = keysOf(id);
    const c = redis.client;
    const members = await c.zrange(k.sessions, '0', '-1');
    const sessions = members.map((m) => names.get(m) ?? m.replace(/^t\d+-(\d+)$/, 't<line>-$1')).sort();
    const bitmap = async (key: string) => {
      const bytes = await c.getBuffer(key);
      if (bytes !== null) expect(await c.pttl(key)).toBeGreaterThan(0);
      return bytes === null ? null : bytes.toString('hex');
    };
    const tokens = await c.hget(k.rate, 'tokens');
    const admits = Object.values(await c.hgetall(k.admits)).reduce((sum, n) => sum + Number(n), 0);
    const clients = [];
    for (const name of ['c1', 'c2']) {
      const hits = await c.get(k.client(name));
      if (hits !== null) expect({ name, ttl: (await c.pttl(k.client(name))) > 0 }).toEqual({ name, ttl: true });
      clients.push(hits);
    }
    return {
      tickets: await c.get(k.tickets),
      serving: await c.get(k.serving),
      goneCount: await c.get(k.goneCount),
      sessions,
      sessionCount: await c.zcard(k.sessions),
      seen: await bitmap(k.seen(seenBucket)),
      present: await bitmap(k.present(presentBucket)),
      tokens: tokens === null ? null : Number(tokens),
      admits,
      clockSampled: (await c.zcard(k.clock)) > 0,
      clients,
    };
  }

  /** Runs a scenario in three rooms and checks them against each other; returns the script calls of the batch. */
  async function differential(s: Scenario) {
    const a = await prepare(s);
    const b = await prepare(s);
    const c = await prepare(s);
    // The same prior state (a releaser step decided alike in each).
    expect(b.release).toEqual(a.release);
    expect(c.release).toEqual(a.release);
    const lines = { a: await lineOf(a.id), b: await lineOf(b.id), c: await lineOf(c.id) };

    const seqAnswers: Array<Counted<ArriveResult>> = [];
    for (const client of s.arrivals) seqAnswers.push(await arriveWith(sequential, a.id, client, s.blockMs));

    // B and C in one turn, interleaved: one call per room (or per MAX_ARRIVALS_PER_BATCH of a room), in order.
    const { calls, value } = await countScriptCalls(async () => {
      const bPending: Array<Promise<Counted<ArriveResult>>> = [];
      const cPending: Array<Promise<Counted<ArriveResult>>> = [];
      for (const client of s.arrivals) {
        bPending.push(arriveWith(batched, b.id, client, s.blockMs));
        cPending.push(arriveWith(batched, c.id, client, s.blockMs));
      }
      endTurn();
      return { b: await Promise.all(bPending), c: await Promise.all(cPending) };
    });

    const want = await normalise(a.id, seqAnswers, lines.a, a.names, false);
    const gotB = await normalise(b.id, value.b, lines.b, b.names, true);
    const gotC = await normalise(c.id, value.c, lines.c, c.names, true);
    const stateA = await keysAfter(a.id, want.names);
    const stateB = await keysAfter(b.id, gotB.names);
    const stateC = await keysAfter(c.id, gotC.names);

    // Arrival by arrival first: the first difference is the one to read.
    for (let i = 0; i < s.arrivals.length; i++) {
      expect({ room: 'B (one call)', ...gotB.answers[i] }).toEqual({ room: 'B (one call)', ...want.answers[i] });
      expect({ room: 'C (one call, same turn as B)', ...gotC.answers[i] }).toEqual({
        room: 'C (one call, same turn as B)',
        ...want.answers[i],
      });
    }
    const line = (x: typeof want) => ({ lineChanged: x.lineChanged, lineSet: x.lineSet });
    expect(line(gotB)).toEqual(line(want));
    expect(line(gotC)).toEqual(line(want));
    // The token bucket refills between A's one-call arrivals (a few ms): close, not equal,
    // at the rates that can run out (at most 0.2 tokens a second; a wrong take is off by 1 or more).
    const { tokens: tokensA, ...restA } = stateA;
    for (const [room, { tokens, ...rest }] of [
      ['B', stateB],
      ['C', stateC],
    ] as const) {
      expect({ room, ...rest }).toEqual({ room, ...restA });
      expect({ room, bucket: tokens === null }).toEqual({ room, bucket: tokensA === null });
      if (tokens === null || tokensA === null) continue;
      const rpm = (s.settings?.rpm ?? 0) * (s.settings?.originFactor ?? 1);
      if (rpm <= 12) {
        expect(Math.abs(tokens - tokensA)).toBeLessThan(0.5);
      } else {
        // 100,000 tokens a second: A's bucket is full again at each call, B's less this batch's admissions.
        const cap = Math.floor(rpm / 6);
        for (const t of [tokens, tokensA]) expect(t).toBeGreaterThanOrEqual(cap - s.arrivals.length - s.priorArrivals);
      }
    }
    // Invariants of each room that the comparison cannot see (a change that breaks them in every call alike):
    for (const [room, id, answers] of [
      ['A', a.id, want.answers],
      ['B', b.id, gotB.answers],
      ['C', c.id, gotC.answers],
    ] as const) {
      // a decision that read the sessions (an admission, a rejection) dropped the expired ones;
      const readSessions = answers.some((x) => x.result?.kind === 'admitted' || x.result?.kind === 'rejected');
      if (readSessions)
        expect({ room, expired: await redis.client.zcount(keysOf(id).sessions, '-inf', 1_000_000) }).toEqual({ room, expired: 0 });
      // a room that handed out a ticket has a clock sample, and samples are at least a second apart.
      const samples = (await redis.client.zrange(keysOf(id).clock, '0', '-1')).map((m) => Number(m.split(':')[1]));
      if (answers.some((x) => x.result?.kind === 'ticket')) expect({ room, sampled: samples.length > 0 }).toEqual({ room, sampled: true });
      for (let i = 1; i < samples.length; i++) expect((samples[i] as number) - (samples[i - 1] as number)).toBeGreaterThanOrEqual(1000);
    }

    // What this run reached (the generator's coverage, checked after all runs).
    const reached = new Set<string>(want.answers.map((x) => (x.result === null ? 'blocked' : x.result.kind)));
    if (want.lineChanged) reached.add('line started');
    const firstAdmit = want.answers.findIndex((x) => x.result?.kind === 'admitted');
    const rpm = (s.settings?.rpm ?? 0) * (s.settings?.originFactor ?? 1);
    const later = want.answers.slice(firstAdmit + 1).find((x) => x.result !== null);
    if (
      firstAdmit >= 0 &&
      rpm > 0 &&
      rpm <= 12 &&
      later &&
      later.result?.kind !== 'admitted' &&
      stateA.sessionCount < (s.settings?.total ?? 0)
    ) {
      reached.add('rate ran out mid-batch');
    }
    if (s.settings?.suspended) reached.add('suspended');
    if ((a.release as { admitted?: number } | null)?.admitted) reached.add('released');
    if (s.settings?.queueAll) reached.add('queue_all');
    if (want.answers.some((x) => x.result?.kind === 'ticket' && x.result.position !== x.result.ticket))
      reached.add('ticket behind serving/gone');
    return { batchCalls: calls, reached };
  }

  it('decides every arrival of a batch as the same arrivals one call each would, and leaves the same keys (1..60 arrivals)', async () => {
    const reached = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(scenarioArb(1, 60), async (s) => {
        const run = await differential(s);
        // One call per room: B's and C's.
        expect(run.batchCalls).toBe(2);
        for (const what of [...run.reached, s.settings?.method ?? 'no settings']) reached.set(what, (reached.get(what) ?? 0) + 1);
      }),
      { numRuns: 100, seed: SEED },
    );
    // The generator reached every kind of room.
    expect([...reached.keys()].sort()).toEqual(
      [
        'admitted',
        'blocked',
        'fifo',
        'line started',
        'no settings',
        'passthrough',
        'queue_all',
        'rate ran out mid-batch',
        'reject',
        'rejected',
        'released',
        'suspended',
        'ticket',
        'ticket behind serving/gone',
        'unknown',
      ].sort(),
    );
  });

  it(`splits a turn of more than MAX_ARRIVALS_PER_BATCH (${MAX_ARRIVALS_PER_BATCH}) arrivals into several calls, still in order`, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(MAX_ARRIVALS_PER_BATCH + 1, MAX_ARRIVALS_PER_BATCH + 60), async (s) => {
        const { batchCalls } = await differential(s);
        expect(batchCalls).toBe(4); // two per room
      }),
      { numRuns: 3, seed: SEED + 1 },
    );
  });

  it('hands out the tickets of one batch in call order (FIFO), after admitting while there is room', async () => {
    const id = `fifo-${++roomSeq}`;
    await rooms.write(id, { ...ROOM_DEFAULTS, totalActiveUsers: 2, newUsersPerMinute: 6_000_000 });
    const pending = Array.from({ length: 8 }, () => batched.arrive(id));
    endTurn();
    const answers = await Promise.all(pending);
    expect(answers.map((r) => r.kind)).toEqual(['admitted', 'admitted', 'ticket', 'ticket', 'ticket', 'ticket', 'ticket', 'ticket']);
    expect(answers.flatMap((r) => (r.kind === 'ticket' ? [[r.ticket, r.position]] : []))).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
    const line = Number(await redis.client.get(keysOf(id).line));
    for (const r of answers) if (r.kind === 'ticket') expect(r.issuedAt).toBe(line);
    // Every ticket is marked seen and present: bits 1..6.
    expect((await redis.client.getBuffer(keysOf(id).seen(seenBucket)))?.toString('hex')).toBe('7e');
    expect((await redis.client.getBuffer(keysOf(id).present(presentBucket)))?.toString('hex')).toBe('7e');
  });

  it('rejects every arrival of a batch whose call fails, and answers the other rooms of the turn', async () => {
    const broken = `broken-${++roomSeq}`;
    const fine = `fine-${++roomSeq}`;
    await rooms.write(broken, { ...ROOM_DEFAULTS, newUsersPerMinute: 6_000_000 });
    await rooms.write(fine, { ...ROOM_DEFAULTS, newUsersPerMinute: 6_000_000 });
    // A tickets counter that is not a number: the script fails on its first arrival.
    await redis.client.set(keysOf(broken).tickets, 'not-a-number');
    const clients: ClientIndex[] = [0, 1, 2, 0, 2];
    const brokenPending = clients.map((client) => arriveWith(batched, broken, client, 0));
    const finePending = clients.map((client) => arriveWith(batched, fine, client, 0));
    // A room id no key can be made of fails its own batch only (it throws when the call is built).
    const invalidPending = [batched.arrive('no spaces allowed'), batched.arrive('no spaces allowed')];
    endTurn();
    const settled = await Promise.allSettled([...brokenPending, ...invalidPending]);
    for (const s of settled) expect(s.status).toBe('rejected');
    const answers = await Promise.all(finePending);
    expect(answers.map((a) => a.result?.kind)).toEqual(['admitted', 'admitted', 'admitted', 'admitted', 'admitted']);
  });
});
