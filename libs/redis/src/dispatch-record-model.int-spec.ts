/**
 * The record script (dispatch-record-7.lua) against a sequential in-memory model of its pair semantics, on real Redis
 * (standalone here, the 6-node Cluster under `npm run test:cluster`).
 *
 * What it proves: whichever way recordArgs hands a batch to the script (byte masks per outcome when the batch's offsets
 * lie close together, pairs of offset and outcome through BITFIELD otherwise), and however the two are mixed on the
 * same keys, each call counts exactly what "each device settled once, by the first final outcome it is given; held
 * once; retries counted every time" says, and leaves the same state behind: the five bitmaps (settled, sent, failed,
 * transient, held) bit for bit, every counter of the stats hash (outcomes, w1:*, skipped, w1:holding, sent:<provider>,
 * the shared and per-provider recent_* windows with their halving), the sends hash, and what the readers see
 * (RecordSummary, unsettled() with and without a partition, takeRateAndCheck()'s ledger check) on random probes.
 *
 * The calls are random but repeatable (a seeded PRNG, fixed seeds below): 1 or 3 partitions; start offsets on and
 * around byte boundaries (0, 1, 7, 8, 9, 31,990, 32,000, 32,007, 100,000, 5,000,000); batches of 1 to 2,000 outcomes
 * with duplicates, held, retrying and conflicting outcomes, dense or spread. A second part puts a batch's span at
 * MAX_SPAN_BYTES - 1, MAX_SPAN_BYTES and MAX_SPAN_BYTES + 1 bytes from several start bits (the last one falls back to
 * pairs).
 */
import { randomUUID } from 'node:crypto';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { DispatchStore, MAX_SPAN_BYTES, recordArgs, type RecordedOutcome } from './dispatch-store';

/** mulberry32: a small seeded PRNG; `int(n)` is in 0 … n - 1. */
function prng(seed: number) {
  let s = seed | 0;
  return {
    int(n: number): number {
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    },
    pick<T>(items: readonly T[]): T {
      return items[this.int(items.length)] as T;
    },
  };
}
type Prng = ReturnType<typeof prng>;

const PROVIDERS = ['fcm', 'apns', 'webpush'];
const BASES = [0, 1, 7, 8, 9, 31_990, 32_000, 32_007, 100_000, 5_000_000];
const SIZES = [1, 2, 10, 100, 500, 2000];
/** How far apart a batch's offsets are drawn (1: many duplicates, masks; 1000: pairs). */
const SPREADS = [1, 2, 8, 16, 40, 200, 1000];
const CALLS = 200;
const WAVE = 1;

const KINDS: Array<(id: string, r: Prng) => RecordedOutcome> = [
  (id, r) => ({ deviceId: id, outcome: 'sent', provider: r.pick(PROVIDERS) }),
  (id) => ({ deviceId: id, outcome: 'sent', provider: 'fcm' }),
  (id) => ({ deviceId: id, outcome: 'failed', provider: 'fcm' }),
  (id) => ({ deviceId: id, outcome: 'failed' }),
  (id) => ({ deviceId: id, outcome: 'failed_transient', provider: 'apns' }),
  (id) => ({ deviceId: id, outcome: 'invalid', provider: 'webpush' }),
  (id) => ({ deviceId: id, outcome: 'invalid' }),
  (id, r) => ({ deviceId: id, outcome: 'retrying', provider: r.pick(PROVIDERS) }),
  (id) => ({ deviceId: id, outcome: 'retrying' }),
  (id) => ({ deviceId: id, outcome: 'inactive' }),
  (id) => ({ deviceId: id, outcome: 'held' }),
];

/** One partition's ledger and counters, as the script's contract says, one outcome after the other. */
class PartitionModel {
  readonly settled = new Set<number>();
  readonly sent = new Set<number>();
  readonly failed = new Set<number>();
  readonly transient = new Set<number>();
  readonly held = new Set<number>();
  readonly stats = new Map<string, number>();
  /** The sends hash: epoch second -> messages sent. */
  readonly sends = new Map<string, number>();
  progressAt: number | null = null;
  halvings = { shared: 0, provider: 0 };

  constructor(
    readonly of: number,
    readonly block = 1,
  ) {}

  /** A device's bit: block k of `block` ids is the partition's floor(k / of)-th, its ids' bits one after another. */
  offsetOf(deviceId: string): number {
    const id = Number(deviceId);
    return Math.floor(Math.floor(id / this.block) / this.of) * this.block + (id % this.block);
  }

  private bump(field: string, n: number): void {
    this.stats.set(field, (this.stats.get(field) ?? 0) + n);
  }

  private get(field: string): number {
    return this.stats.get(field) ?? 0;
  }

  /** Applies one call; returns the outcomes it counted and the providers whose window it touched. */
  record(outcomes: readonly RecordedOutcome[], window: number, now: number): { counted: number; named: Set<string> } {
    const w = `w${WAVE}:`;
    const offset = (o: RecordedOutcome) => this.offsetOf(o.deviceId);
    // The contract: held devices of a call first (each device once, ever), then the final outcomes in order.
    for (const o of outcomes) {
      if (o.outcome !== 'held' || this.held.has(offset(o))) continue;
      this.held.add(offset(o));
      this.bump('skipped', 1);
      this.bump(`${w}skipped`, 1);
      this.bump(`${w}holding`, 1);
    }
    let counted = 0;
    let sentNow = 0;
    const named = new Set<string>();
    const answer = (provider: string, failed: boolean, invalid: boolean) => {
      for (const suffix of provider ? ['', `:${provider}`] : ['']) {
        this.bump(`recent_total${suffix}`, 1);
        if (failed) this.bump(`recent_failed${suffix}`, 1);
        if (invalid) this.bump(`recent_invalid${suffix}`, 1);
      }
      if (provider) named.add(provider);
    };
    for (const o of outcomes) {
      const provider = 'provider' in o && o.provider ? o.provider : '';
      if (o.outcome === 'retrying') {
        answer(provider, true, false);
        continue;
      }
      if (o.outcome === 'held') continue;
      const k = offset(o);
      if (this.settled.has(k)) continue;
      this.settled.add(k);
      counted++;
      this.bump('settled', 1);
      this.bump(`${w}settled`, 1);
      if (this.held.has(k)) this.bump(`${w}holding`, -1);
      const name = o.outcome === 'failed_transient' ? 'failed' : o.outcome;
      this.bump(name, 1);
      this.bump(`${w}${name}`, 1);
      if (o.outcome === 'sent') {
        this.sent.add(k);
        this.bump(`sent:${provider}`, 1);
        sentNow++;
      }
      if (o.outcome === 'failed' || o.outcome === 'failed_transient') this.failed.add(k);
      if (o.outcome === 'failed_transient') this.transient.add(k);
      if (o.outcome !== 'inactive') answer(provider, o.outcome !== 'sent' && o.outcome !== 'invalid', o.outcome === 'invalid');
    }
    this.progressAt = now;
    if (sentNow > 0) {
      const second = String(Math.floor(now / 1000));
      this.sends.set(second, (this.sends.get(second) ?? 0) + sentNow);
    }
    // Each window checked after the call (the shared one, then each provider named in it) is halved past its size.
    for (const suffix of ['', ...[...named].map((p) => `:${p}`)]) {
      if (this.get(`recent_total${suffix}`) <= window) continue;
      for (const f of ['recent_total', 'recent_failed', 'recent_invalid']) {
        this.stats.set(`${f}${suffix}`, Math.floor(this.get(`${f}${suffix}`) / 2));
      }
      if (suffix === '') this.halvings.shared++;
      else this.halvings.provider++;
    }
    return { counted, named };
  }

  window(suffix: string): { recentTotal: number; recentFailed: number; recentInvalid: number } {
    return {
      recentTotal: this.get(`recent_total${suffix}`),
      recentFailed: this.get(`recent_failed${suffix}`),
      recentInvalid: this.get(`recent_invalid${suffix}`),
    };
  }
}

describe('dispatch-record-7.lua against a sequential model (Redis)', () => {
  let redis: TestRedis;
  let store: DispatchStore;

  beforeAll(async () => {
    redis = await createTestRedis();
    store = new DispatchStore(redis.client, redis.keys);
  });
  afterAll(() => redis.cleanup());

  /** The offsets whose bit is set in `key` (bit b of byte i is 0x80 >> b: Redis's order). */
  const bitsOf = async (key: string): Promise<number[]> => {
    const buf = (await redis.client.getBuffer(key)) ?? Buffer.alloc(0);
    const out: number[] = [];
    buf.forEach((byte, i) => {
      for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) out.push(i * 8 + b);
    });
    return out;
  };
  const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b);
  /** A hash without its fields at 0 (HSET of a halved window writes zeros the model never had). */
  const nonZero = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== '0'));

  const cases = [
    { of: 1, errorWindow: 6000, seed: 0x7d1de },
    { of: 3, errorWindow: 6000, seed: 0x5eed3 },
    // By blocks of consecutive ids (new campaigns' layout, here small blocks so batches cross many).
    { of: 3, block: 16, errorWindow: 6000, seed: 0xb10c5 },
  ];
  for (const { of, block = 1, errorWindow, seed } of cases) {
    it(`of=${of}, block ${block}, seed ${seed}: ${CALLS} random calls, masks and pairs mixed on the same keys, match the model`, async () => {
      const r = prng(seed);
      const c = randomUUID();
      if (of > 1) expect(await store.pinPartitions(c, of, block)).toEqual({ of, block });
      await store.planned(c, WAVE, 10_000_000, true, 1);
      const window = of === 1 ? errorWindow : Math.ceil(errorWindow / of);
      const models = Array.from({ length: of }, () => new PartitionModel(of, block));
      const baselines = await Promise.all(
        models.map((_, index) => redis.client.hgetall(redis.keys.campaignPartition(c, { index, of }).stats)),
      );
      const modes = { masks: 0, pairs: 0 };
      const sumOf = (get: (m: PartitionModel) => number) => models.reduce((s, m) => s + get(m), 0);

      for (let call = 0; call < CALLS; call++) {
        const p = r.int(of);
        const partition = block === 1 ? { index: p, of } : { index: p, of, block };
        const model = models[p] as PartitionModel;
        const base = r.pick(BASES);
        const n = r.pick(SIZES);
        const range = Math.max(1, Math.ceil((n * r.pick(SPREADS)) / 4));
        const outcomes: RecordedOutcome[] = [];
        // The device at offset o of partition q (the inverse of the model's offset).
        const idAt = (o: number, q = p) => (Math.floor(o / block) * of + q) * block + (o % block);
        for (let i = 0; i < n; i++) outcomes.push(r.pick(KINDS)(String(idAt(base + r.int(range))), r));
        if (recordArgs(outcomes, of, block)[0] === '-') modes.pairs++;
        else modes.masks++;

        const now = 1000 * (call + 1);
        const expected = model.record(outcomes, window, now);
        const got = await store.record(c, WAVE, outcomes, errorWindow, now, partition);
        const where = `call ${call} (partition ${p}, ${n} outcomes from ${base})`;
        expect([where, got.counted]).toEqual([where, expected.counted]);
        expect([where, got.settled, got.targeted, got.lastWave]).toEqual([where, sumOf((m) => m.settled.size), 10_000_000, WAVE]);
        const shared = {
          recentTotal: sumOf((m) => m.window('').recentTotal),
          recentFailed: sumOf((m) => m.window('').recentFailed),
          recentInvalid: sumOf((m) => m.window('').recentInvalid),
        };
        expect([where, got.recentTotal, got.recentFailed, got.recentInvalid]).toEqual([
          where,
          shared.recentTotal,
          shared.recentFailed,
          shared.recentInvalid,
        ]);
        // One partition: the providers the script touched; more: every provider the batch names, merged.
        const providers = of === 1 ? expected.named : new Set(outcomes.flatMap((o) => ('provider' in o && o.provider ? [o.provider] : [])));
        const byProvider = Object.fromEntries(
          [...providers].map((name) => [
            name,
            {
              recentTotal: sumOf((m) => m.window(`:${name}`).recentTotal),
              recentFailed: sumOf((m) => m.window(`:${name}`).recentFailed),
              recentInvalid: sumOf((m) => m.window(`:${name}`).recentInvalid),
            },
          ]),
        );
        expect([where, got.byProvider]).toEqual([where, byProvider]);

        // The ledger check on random probes around the batch, with the batch's partition and (one call in four)
        // across every partition.
        const probe = Array.from({ length: r.pick([1, 50, 500]) }, () => base + r.int(Math.max(1, range * 4)));
        const ids = probe.map((k) => String(idAt(k)));
        const open = ids.filter((id) => !model.settled.has(model.offsetOf(id)));
        expect([where, await store.unsettled(c, ids, partition)]).toEqual([where, open]);
        expect([where, (await store.takeRateAndCheck([], now, c, ids, partition)).unsettled]).toEqual([where, open]);
        if (call % 4 === 0) {
          const mixed = probe.map((k) => String(idAt(k, r.int(of))));
          const modelOf = (id: string) => models[Math.floor(Number(id) / block) % of] as PartitionModel;
          const openMixed = mixed.filter((id) => !modelOf(id).settled.has(modelOf(id).offsetOf(id)));
          expect([where, await store.unsettled(c, mixed)]).toEqual([where, openMixed]);
        }
      }

      // Both ways of recording ran, and the windows were halved (shared and per provider): the test covers them.
      expect(modes.masks).toBeGreaterThan(CALLS / 10);
      expect(modes.pairs).toBeGreaterThan(CALLS / 10);
      expect(sumOf((m) => m.halvings.shared)).toBeGreaterThan(0);
      expect(sumOf((m) => m.halvings.provider)).toBeGreaterThan(0);

      for (const [index, model] of models.entries()) {
        const k = redis.keys.campaignPartition(c, { index, of });
        const label = `partition ${index}`;
        expect([label, 'settled', await bitsOf(k.settled)]).toEqual([label, 'settled', sorted(model.settled)]);
        expect([label, 'sent', await bitsOf(k.sentLedger)]).toEqual([label, 'sent', sorted(model.sent)]);
        expect([label, 'failed', await bitsOf(k.failed)]).toEqual([label, 'failed', sorted(model.failed)]);
        expect([label, 'transient', await bitsOf(k.transient)]).toEqual([label, 'transient', sorted(model.transient)]);
        expect([label, 'held', await bitsOf(k.held)]).toEqual([label, 'held', sorted(model.held)]);
        // Every field of the hash: what the planner wrote before, plus the model's counters, and nothing else.
        const baseline = baselines[index] as Record<string, string>;
        const stats: Record<string, string> = { ...baseline };
        for (const [field, v] of model.stats) stats[field] = String(Number(baseline[field] ?? 0) + v);
        if (model.progressAt !== null) stats.progress_at = String(model.progressAt);
        expect([label, nonZero(await redis.client.hgetall(k.stats))]).toEqual([label, nonZero(stats)]);
        expect([label, await redis.client.hgetall(k.sends)]).toEqual([
          label,
          Object.fromEntries([...model.sends].map(([s, v]) => [s, String(v)])),
        ]);
      }
    });
  }

  describe('a batch spanning MAX_SPAN_BYTES - 1 to MAX_SPAN_BYTES + 1 bytes', () => {
    for (const bytes of [MAX_SPAN_BYTES - 1, MAX_SPAN_BYTES, MAX_SPAN_BYTES + 1]) {
      for (const startBit of [0, 7, 8, 12_345]) {
        it(`${bytes} bytes from bit ${startBit}: ${bytes <= MAX_SPAN_BYTES ? 'masks' : 'pairs'}, every device once`, async () => {
          const c = randomUUID();
          await store.planned(c, WAVE, 10_000, true, 1);
          const lo = startBit;
          // The last offset lies in the span's last byte (not always at its last bit).
          const hi = (Math.floor(lo / 8) + bytes - 1) * 8 + (startBit % 8 === 7 ? 7 : 4);
          const ids = [lo, hi];
          for (let i = 0; i < 2000; i++) ids.push(lo + 1 + i * 13);
          const outcomes = ids.map((id): RecordedOutcome => ({ deviceId: String(id), outcome: 'sent', provider: 'fcm' }));
          expect(recordArgs(outcomes, 1)[0] === '-' ? 'pairs' : 'masks').toBe(bytes <= MAX_SPAN_BYTES ? 'masks' : 'pairs');

          const first = await store.record(c, WAVE, outcomes, 1e12, 5000);
          expect(first.counted).toBe(new Set(ids).size);
          expect(await bitsOf(redis.keys.campaign(c).settled)).toEqual(sorted(new Set(ids)));
          expect(await bitsOf(redis.keys.campaign(c).sentLedger)).toEqual(sorted(new Set(ids)));
          expect(await store.unsettled(c, ids.map(String))).toEqual([]);
          const outside = [lo - 1, hi + 1, hi + 8, lo + 2].filter((x) => x >= 0).map(String);
          expect(await store.unsettled(c, [...outside, String(hi)])).toEqual(outside);
          expect((await store.record(c, WAVE, outcomes, 1e12, 6000)).counted).toBe(0);
        });
      }
    }
  });
});
