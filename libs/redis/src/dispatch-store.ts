/**
 * Campaign dispatch state in Redis: the per-campaign ledgers (bitmaps indexed by device id), the counters, the parked
 * jobs of a paused campaign, and the rate-limit buckets. Everything a retry or a restarted worker might do twice goes
 * through a Lua script that counts each device once (scripts/dispatch-*.lua have the contracts).
 *
 * Memory: a bitmap takes one bit per device id up to the largest id sent to (1.25 MB per 10 M ids), whatever the
 * campaign's size; the stats hash holds a few fields per wave. Nothing here grows with a campaign's recipients
 * beyond that. Device ids must stay below 2^32 (Redis's largest bit offset) times the campaign's partitions.
 *
 * Partitions (dispatch-partitions.ts): a campaign pinned to n > 1 partitions keeps each device's bits and the outcome
 * counters in the device's partition (one slot each on a Cluster); the planner's counts, the status and the wave
 * finish times stay in the campaign's own stats hash. Every reader here merges them (dispatch-merge.ts).
 */
import { createHash } from 'node:crypto';
import { type GuardCounts } from '@tidegate/domain';
import type { RedisClient } from './connection';
import {
  atOnce,
  layoutField,
  pinnedLayout,
  pinnedPartitions,
  partitionsUpTo,
  readStatsHash,
  sumPartitionFields,
  type Command,
} from './dispatch-merge';
import {
  bitOffset,
  byPartition,
  deviceAt,
  isBlock,
  MAX_PARTITIONS,
  PARTITION_BLOCK,
  partitionIn,
  SINGLE_PARTITION,
  type Partition,
  type PartitionLayout,
} from './dispatch-partitions';
import type { RedisKeys } from './keys';
import { defineScript, loadScript, type ScriptCall } from './scripts';

/**
 * How one device's send ended, as the ledger records it. `held` is not final: the device is sent later. `retrying` is
 * not an outcome either: a transient failure that will be tried again, counted only by the guards (each time).
 * `failed_transient` is final like `failed` but remembered as transient: a resume sends it again.
 */
export type RecordedOutcome =
  | { deviceId: string; outcome: 'sent'; /** The platform (fcm, apns, webpush): counted as sent:<platform>. */ provider: string }
  | {
      deviceId: string;
      outcome: 'invalid' | 'failed' | 'failed_transient' | 'retrying';
      /** The platform whose provider answered: counted in its own guards' window too (none: the shared one only). */
      provider?: string;
    }
  | { deviceId: string; outcome: 'inactive' | 'held' };

const CODES = { invalid: 'i', failed: 'f', failed_transient: 't', inactive: 'x', held: 'h', retrying: 'r' } as const;

export interface RecordSummary {
  /** Devices of the campaign with a final outcome, all waves. */
  settled: number;
  /** Recipients of the waves materialised so far. */
  targeted: number;
  /** The last wave's number once it is planned, else null. */
  lastWave: number | null;
  /**
   * The guards' window (decayed by halving): recent provider answers (sent, invalid, failed, retried), of which
   * failures and retries (the error rate) and invalid tokens (the invalid-token rate).
   */
  recentTotal: number;
  recentFailed: number;
  recentInvalid: number;
  /** The same window of each provider named in the recorded outcomes (keyed by platform). */
  byProvider: Record<string, GuardCounts>;
  /** Outcomes this call counted (the rest had been recorded before). */
  counted: number;
  /**
   * Whether this call's answers were counted in the guards' windows. False when the batch read its window generation
   * before a resume started new windows: its answers are to sends made before the resume, and the windows above are
   * the resumed campaign's, which those answers say nothing about (the caller does not judge them).
   */
  judged: boolean;
  /** Whether this call finished the batch's wave (its last recipient settled or was held now; once per wave). */
  finishedWave: boolean;
}

/** The providers whose answers are among `outcomes` (each once, in order). */
function providersNamed(outcomes: readonly RecordedOutcome[]): string[] {
  const named = new Set<string>();
  for (const o of outcomes) if ('provider' in o && o.provider) named.add(o.provider);
  return [...named];
}

/** The script's code for an outcome: i, f, t, r, x, h, or s:<provider>; a provider's answer names it (f:fcm). */
function outcomeCode(o: RecordedOutcome): string {
  if (o.outcome === 'sent') return `s:${o.provider}`;
  const code = CODES[o.outcome];
  return 'provider' in o && o.provider ? `${code}:${o.provider}` : code;
}

/** A partition's stats hash's field of its windows' generation (dispatch-guards-reset-1.lua moves it on; absent: 0). */
const WINDOW_GENERATION = 'window_gen';
/**
 * The campaign's own stats hash's field of its guards' generation: moved on once every partition's windows are new
 * (newGuardWindows); a verdict is applied only if it has not moved since its batch read it (absent: 0).
 */
const GUARD_GENERATION = 'guard_gen';

/** A mask (dispatch-record-7.lua) or a GETRANGE of the ledger is at most this many bytes. */
export const MAX_SPAN_BYTES = 4000;

/**
 * Whether a batch whose bit offsets lie between `lo` and `hi` is read and recorded a byte span at a time (one GETRANGE,
 * masks): when the span is small next to the batch (a dense audience: the offsets of a partition's batch are nearly
 * consecutive), so the work stays O(batch). Else bit by bit (BITFIELD). Returns the span's first byte and length.
 */
export function byteSpan(lo: number, hi: number, count: number): { first: number; length: number } | null {
  if (!(hi >= lo)) return { first: 0, length: 0 };
  const first = Math.floor(lo / 8);
  const length = Math.floor(hi / 8) - first + 1;
  return length <= MAX_SPAN_BYTES && length <= 2 * count + 64 ? { first, length } : null;
}

/**
 * The record script's ARGV from its 5th on (dispatch-record-7.lua): masks, one per distinct outcome code (the count for
 * retries), when the batch's offsets lie close together; else pairs of offset and code. A device given more than one
 * final outcome is counted with its first, as the script does with pairs.
 */
export function recordArgs(outcomes: readonly RecordedOutcome[], of: number, block = 1): Array<string | number | Buffer> {
  const offsets: number[] = new Array<number>(outcomes.length);
  let lo = Infinity;
  let hi = -Infinity;
  outcomes.forEach((o, i) => {
    const offset = bitOffset(o.deviceId, of, block);
    offsets[i] = offset;
    if (o.outcome !== 'retrying') {
      if (offset < lo) lo = offset;
      if (offset > hi) hi = offset;
    }
  });
  const span = byteSpan(lo, hi, outcomes.length);
  // Outcomes come in runs of the same code (a batch's sends to one platform): the code string is made once per run, and
  // the same string looked up in `values` (a new string per outcome would be hashed per outcome).
  let runOutcome: string | undefined;
  let runProvider: string | undefined;
  let runCode = '';
  const codeOf = (o: RecordedOutcome): string => {
    const provider = 'provider' in o ? o.provider : undefined;
    if (o.outcome !== runOutcome || provider !== runProvider) {
      runOutcome = o.outcome;
      runProvider = provider;
      runCode = outcomeCode(o);
    }
    return runCode;
  };
  if (!span) {
    const pairs: Array<string | number> = ['-'];
    outcomes.forEach((o, i) => pairs.push(offsets[i] as number, codeOf(o)));
    return pairs;
  }
  const values = new Map<string, Buffer | number>();
  const final = Buffer.alloc(span.length);
  outcomes.forEach((o, i) => {
    const code = codeOf(o);
    if (o.outcome === 'retrying') {
      values.set(code, ((values.get(code) as number | undefined) ?? 0) + 1);
      return;
    }
    const offset = offsets[i] as number;
    const at = Math.floor(offset / 8) - span.first;
    const bit = 0x80 >> (offset % 8);
    if (o.outcome !== 'held') {
      if ((final[at] as number) & bit) return;
      final[at] = (final[at] as number) | bit;
    }
    let mask = values.get(code) as Buffer | undefined;
    if (!mask) values.set(code, (mask = Buffer.alloc(span.length)));
    mask[at] = (mask[at] as number) | bit;
  });
  const args: Array<string | number | Buffer> = [span.first];
  for (const [code, value] of values) args.push(code, value);
  return args;
}

/** Whether every recipient of every wave has a final outcome, the last wave planned. */
export function isCampaignDone(s: Pick<RecordSummary, 'settled' | 'targeted' | 'lastWave'>): boolean {
  return s.lastWave !== null && s.settled >= s.targeted;
}

/** A rate limit to take from: its bucket key, how many messages, and its rate per minute (null: no limit). */
export interface RateTake {
  key: string;
  count: number;
  perMinute: number | null;
}

export const RATE_BUCKETS_PER_CALL = 8;
/** The record script's command name on the client (dispatch-record-7.lua). */
const RECORD_COMMAND = 'tidegateDispatchRecord';
const RECORD_SCRIPT = 'dispatch-record-7.lua';
const RECORD_SHA = createHash('sha1').update(loadScript(RECORD_SCRIPT)).digest('hex');
/** The rate-limit script's (dispatch-rate-8.lua). */
const RATE_COMMAND = 'tidegateDispatchRate';
/** How far ahead of now a bucket may be booked: one second of sending at the limit. */
export const RATE_BURST_MS = 1000;
const MIN_PENALTY_FACTOR = 0.05;

/** What a record's caller decides on, merged over the partitions (all but `counted` and `judged`). */
type ProgressView = Omit<RecordSummary, 'counted' | 'judged'>;

/** A record whose answers are counted in the guards' windows whatever their generation (dispatch-record-7.lua ARGV[4]). */
const ANY_GENERATION = '-';

export class DispatchStore {
  private readonly scripts: {
    plan: ScriptCall<number[]>;
    reopen: ScriptCall<string[]>;
    penalty: ScriptCall<string>;
    guardsReset: ScriptCall<number>;
  };

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.scripts = {
      plan: defineScript(redis, 'tidegateDispatchPlan', 'dispatch-plan-1.lua'),
      reopen: defineScript(redis, 'tidegateDispatchReopen', 'dispatch-reopen-4.lua'),
      penalty: defineScript(redis, 'tidegateDispatchPenalty', 'dispatch-penalty-1.lua'),
      guardsReset: defineScript(redis, 'tidegateDispatchGuardsReset', 'dispatch-guards-reset-1.lua'),
    };
    // Called by name, with other commands in the same round trip (atOnce).
    defineScript(redis, RECORD_COMMAND, RECORD_SCRIPT);
    defineScript(redis, RATE_COMMAND, 'dispatch-rate-8.lua');
  }

  /** Counts a materialised wave once (targeted, waves, last_wave). */
  async planned(
    campaignId: string,
    wave: number,
    size: number,
    last: boolean,
    now = Date.now(),
  ): Promise<Pick<RecordSummary, 'settled' | 'targeted' | 'lastWave'>> {
    const [settled, targeted, lastWave] = await this.scripts.plan([this.keys.campaign(campaignId).stats], [wave, size, last ? 1 : 0, now]);
    const of = await this.partitionsOf(campaignId);
    if (of === 1) return { settled: Number(settled), targeted: Number(targeted), lastWave: Number(lastWave) || null };
    // The partitions hold the outcomes: batches recorded before this count may have finished the wave already.
    const view = await this.progressView(campaignId, wave, now);
    return { settled: view.settled, targeted: view.targeted, lastWave: view.lastWave };
  }

  /** The campaign's pinned partition count (1: never pinned, the layout before partitions). */
  async partitionsOf(campaignId: string): Promise<number> {
    return (await this.layoutOf(campaignId)).of;
  }

  /** The campaign's pinned layout: partition count and block size (1 and 1: never pinned). */
  async layoutOf(campaignId: string): Promise<PartitionLayout> {
    return pinnedLayout(await this.redis.hget(this.keys.campaign(campaignId).stats, 'partitions'));
  }

  /**
   * Pins the campaign's layout once, before its first batch: `wanted` partitions by blocks of PARTITION_BLOCK ids for
   * a campaign with no wave counted yet (`block`: DISPATCH_PARTITION_BLOCK), 1 for one that was sending
   * before partitions existed (its ledger is in its own keys). The count and the block go in one field, by one HSETNX: whoever pins first, everyone reads the same layout.
   * Returns the pinned layout (a campaign pinned before blocks keeps block 1).
   */
  async pinPartitions(campaignId: string, wanted: number, block = PARTITION_BLOCK): Promise<PartitionLayout> {
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_PARTITIONS) throw new RangeError(`invalid partition count ${wanted}`);
    if (!isBlock(block)) throw new RangeError(`invalid partition block ${block}`);
    const stats = this.keys.campaign(campaignId).stats;
    const [pinned, waves] = await this.redis.hmget(stats, 'partitions', 'waves');
    if (pinned !== null) return pinnedLayout(pinned);
    const layout = waves === null ? { of: wanted, block: wanted === 1 ? 1 : block } : { of: 1, block: 1 };
    await this.redis.hsetnx(stats, 'partitions', layoutField(layout));
    return this.layoutOf(campaignId);
  }

  /**
   * The campaign's totals and wave `wave`'s progress, merged over its partitions; marks the wave finished (once) when
   * every recipient has an outcome or is held. One HMGET on the campaign's hash, then one per partition.
   */
  private async progressView(campaignId: string, wave: number, now: number, providers: readonly string[] = []): Promise<ProgressView> {
    const of = await this.partitionsOf(campaignId);
    const reads = this.progressReads(campaignId, wave, of, providers);
    return this.mergeProgress(campaignId, wave, now, of, providers, await atOnce(this.redis, reads));
  }

  /** The reads progressView merges: the campaign's hash, then each of `of` partitions' (one HMGET each). */
  private progressReads(campaignId: string, wave: number, of: number, providers: readonly string[]): Command[] {
    const w = `w${wave}:`;
    const fields = ['settled', `${w}settled`, `${w}holding`, 'recent_total', 'recent_failed', 'recent_invalid'];
    for (const p of providers) fields.push(`recent_total:${p}`, `recent_failed:${p}`, `recent_invalid:${p}`);
    return [
      ['hmget', this.keys.campaign(campaignId).stats, 'partitions', 'targeted', 'last_wave', `${w}targeted`, `${w}finished_at`],
      ...partitionsUpTo(of).map((p): Command => ['hmget', this.keys.campaignPartition(campaignId, p).stats, ...fields]),
    ];
  }

  /**
   * progressView from its reads (`replies`, in progressReads' order, made for `of` partitions). Should `of` not be the
   * pinned count, they are read again for the pinned one.
   */
  private async mergeProgress(
    campaignId: string,
    wave: number,
    now: number,
    of: number,
    providers: readonly string[],
    replies: readonly unknown[],
  ): Promise<ProgressView> {
    const [partitions, targeted, lastWave, waveTargeted, finishedAt] = replies[0] as Array<string | null>;
    if (pinnedPartitions(partitions) !== of) return this.progressView(campaignId, wave, now, providers);
    const sums: number[] = [];
    for (const reply of replies.slice(1) as Array<Array<string | null>>) {
      reply.forEach((value, i) => (sums[i] = (sums[i] ?? 0) + Number(value ?? 0)));
    }
    const [settled = 0, waveSettled = 0, waveHolding = 0, recentTotal = 0, recentFailed = 0, recentInvalid = 0] = sums;
    const byProvider: Record<string, GuardCounts> = {};
    providers.forEach((p, i) => {
      const [total = 0, failed = 0, invalid = 0] = sums.slice(6 + 3 * i, 9 + 3 * i);
      byProvider[p] = { recentTotal: total, recentFailed: failed, recentInvalid: invalid };
    });
    let finishedWave = false;
    if (
      waveTargeted !== null &&
      waveTargeted !== undefined &&
      (finishedAt ?? null) === null &&
      waveSettled + waveHolding >= Number(waveTargeted)
    ) {
      finishedWave = (await this.redis.hsetnx(this.keys.campaign(campaignId).stats, `w${wave}:finished_at`, now)) === 1;
    }
    return {
      settled,
      targeted: Number(targeted ?? 0),
      lastWave: Number(lastWave ?? 0) || null,
      recentTotal,
      recentFailed,
      recentInvalid,
      byProvider,
      finishedWave,
    };
  }

  /**
   * The ids of `deviceIds` that have no final outcome yet (the ledger check before sending), in the given order. With
   * `partition` (a batch's), every id must be of that partition: one BITFIELD; without it, one per partition involved.
   */
  async unsettled(campaignId: string, deviceIds: readonly string[], partition?: Partition): Promise<string[]> {
    if (deviceIds.length === 0) return [];
    if (partition) return this.unsettledIn(campaignId, deviceIds, partition);
    const layout = await this.layoutOf(campaignId);
    const open = new Set<string>();
    for (const [index, ids] of byPartition(deviceIds, layout.of, (id) => id, layout.block)) {
      for (const id of await this.unsettledIn(campaignId, ids, partitionIn(index, layout))) open.add(id);
    }
    return deviceIds.filter((id) => open.has(id));
  }

  private async unsettledIn(campaignId: string, deviceIds: readonly string[], partition: Partition): Promise<string[]> {
    const read = this.ledgerRead(campaignId, deviceIds, partition);
    const [reply] = await atOnce(this.redis, [read.command]);
    return read.unsettled(reply);
  }

  /**
   * The ledger check of one partition's ids as a command and its decoding: the bytes the batch spans, read whole (a
   * dense batch: a few dozen bytes) and its bits looked up here; or one BITFIELD GET per id.
   */
  private ledgerRead(
    campaignId: string,
    deviceIds: readonly string[],
    partition: Partition,
  ): { command: Command; unsettled(reply: unknown): string[] } {
    const key = this.keys.campaignPartition(campaignId, partition).settled;
    const block = partition.block ?? 1;
    const offsets = deviceIds.map((id) => bitOffset(id, partition.of, block));
    let lo = Infinity;
    let hi = -Infinity;
    for (const offset of offsets) {
      if (offset < lo) lo = offset;
      if (offset > hi) hi = offset;
    }
    const span = byteSpan(lo, hi, offsets.length);
    if (span) {
      return {
        command: ['getrangeBuffer', key, span.first, span.first + span.length - 1],
        unsettled: (reply) => {
          const bytes = reply as Buffer;
          return deviceIds.filter((_, i) => {
            const offset = offsets[i] as number;
            const at = Math.floor(offset / 8) - span.first;
            return at >= bytes.length || ((bytes[at] as number) & (0x80 >> (offset % 8))) === 0;
          });
        },
      };
    }
    const args: string[] = [];
    for (const offset of offsets) args.push('GET', 'u1', String(offset));
    return {
      command: ['bitfield', key, ...args],
      unsettled: (reply) => deviceIds.filter((_, i) => (reply as number[])[i] === 0),
    };
  }

  /**
   * Records outcomes of one wave's sends; each device is counted once however often it is recorded. With `partition`
   * (a batch's) every device must be of it: one script; without it, one per partition involved. With more than one
   * partition the guards' window is split among them (each keeps ⌈errorWindow / n⌉ answers) and the summary is merged
   * over all of them.
   *
   * `generation`: the window generation of `partition` the batch read before it sent (takeRateAndCheck). Should a
   * resume have started new windows since (newGuardWindows), the answers are recorded but left out of them, and the
   * summary says so (`judged` false). Without it (or without `partition`) they are always counted.
   */
  async record(
    campaignId: string,
    wave: number,
    outcomes: readonly RecordedOutcome[],
    errorWindow: number,
    now = Date.now(),
    partition?: Partition,
    generation?: number,
  ): Promise<RecordSummary> {
    if (partition) return this.recordIn(campaignId, wave, outcomes, errorWindow, now, partition, generation ?? ANY_GENERATION);
    const layout = await this.layoutOf(campaignId);
    if (layout.of === 1) return this.recordIn(campaignId, wave, outcomes, errorWindow, now, SINGLE_PARTITION, ANY_GENERATION);
    let counted = 0;
    let finishedWave = false;
    const groups = [...byPartition(outcomes, layout.of, (o) => o.deviceId, layout.block)];
    if (groups.length === 0) groups.push([0, []]);
    for (const [index, group] of groups) {
      const part = await this.recordIn(campaignId, wave, group, errorWindow, now, partitionIn(index, layout), ANY_GENERATION);
      counted += part.counted;
      finishedWave ||= part.finishedWave;
    }
    const view = await this.progressView(campaignId, wave, now, providersNamed(outcomes));
    return { ...view, finishedWave: finishedWave || view.finishedWave, counted, judged: true };
  }

  private async recordIn(
    campaignId: string,
    wave: number,
    outcomes: readonly RecordedOutcome[],
    errorWindow: number,
    now: number,
    partition: Partition,
    generation: number | typeof ANY_GENERATION,
  ): Promise<RecordSummary> {
    const k = this.keys.campaignPartition(campaignId, partition);
    const { of } = partition;
    const size = of === 1 ? errorWindow : Math.ceil(errorWindow / of);
    const args = [wave, size, now, generation, ...recordArgs(outcomes, of, partition.block)];
    const keys = [k.settled, k.sentLedger, k.held, k.stats, k.failed, k.transient, k.sends];
    // The record, the dirty mark and (partitioned) the reads of the merged view after them, at once on a standalone
    // server. Every read comes after this record: of two batches finishing a wave at the same time, the later one to
    // record sees both.
    const providers = of > 1 ? providersNamed(outcomes) : [];
    const reads = of > 1 ? this.progressReads(campaignId, wave, of, providers) : [];
    const [recorded, , ...replies] = await this.recordThenRead(keys, args, campaignId, reads);
    const reply = recorded as Array<number | string>;
    const [settled, targeted, lastWave, recentTotal, recentFailed, recentInvalid, counted, judged, finished] = reply;
    const told = { counted: Number(counted), judged: Number(judged) === 1 };
    if (of > 1) return { ...(await this.mergeProgress(campaignId, wave, now, of, providers, replies)), ...told };
    const byProvider: Record<string, GuardCounts> = {};
    for (let i = 9; i + 3 < reply.length; i += 4) {
      byProvider[String(reply[i])] = {
        recentTotal: Number(reply[i + 1]),
        recentFailed: Number(reply[i + 2]),
        recentInvalid: Number(reply[i + 3]),
      };
    }
    return {
      settled: Number(settled),
      targeted: Number(targeted),
      lastWave: Number(lastWave) || null,
      recentTotal: Number(recentTotal),
      recentFailed: Number(recentFailed),
      recentInvalid: Number(recentInvalid),
      byProvider,
      finishedWave: Number(finished) === 1,
      ...told,
    };
  }

  /**
   * The record script, the dirty mark, then `reads` (atOnce). On a standalone server the script goes as a plain EVALSHA:
   * ioredis would answer a NOSCRIPT inside a pipeline by sending the script again after the pipeline, behind the reads.
   * Should the server not have it (a new server, SCRIPT FLUSH, Redis 7.4+ evicting scripts loaded by EVAL), nothing was
   * recorded: it is loaded (SCRIPT LOAD) and the whole goes again.
   */
  private async recordThenRead(
    keys: readonly string[],
    args: ReadonlyArray<string | number | Buffer>,
    campaignId: string,
    reads: readonly Command[],
  ): Promise<unknown[]> {
    const dirty: Command = ['sadd', this.keys.dispatchDirty, campaignId];
    if (this.redis.isCluster) return atOnce(this.redis, [[RECORD_COMMAND, ...keys, ...args], dirty], reads);
    const run = () => atOnce(this.redis, [['evalsha', RECORD_SHA, keys.length, ...keys, ...args], dirty], reads);
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      await this.redis.script('LOAD', loadScript(RECORD_SCRIPT));
      return run();
    }
  }

  /** Progress of one wave: recipients, those with a final outcome, those held for quiet hours now. */
  async waveProgress(campaignId: string, wave: number): Promise<{ targeted: number | null; settled: number; holding: number }> {
    const [partitions, targeted] = await this.redis.hmget(this.keys.campaign(campaignId).stats, 'partitions', `w${wave}:targeted`);
    const [settled, holding] = (await sumPartitionFields(this.redis, this.keys, campaignId, pinnedPartitions(partitions), [
      `w${wave}:settled`,
      `w${wave}:holding`,
    ])) as [number, number];
    return { targeted: targeted === null ? null : Number(targeted), settled, holding };
  }

  /** When a wave was last counted or an outcome last recorded (ms since the epoch), or null if never. */
  async progressAt(campaignId: string): Promise<number | null> {
    const [at, partitions] = await this.redis.hmget(this.keys.campaign(campaignId).stats, 'progress_at', 'partitions');
    const of = pinnedPartitions(partitions);
    if (of === 1) return at === null ? null : Number(at);
    const parts = await Promise.all(
      partitionsUpTo(of).map((p) => this.redis.hget(this.keys.campaignPartition(campaignId, p).stats, 'progress_at')),
    );
    const all = [at, ...parts].filter((v): v is string => v !== null).map(Number);
    return all.length === 0 ? null : Math.max(...all);
  }

  /** The campaign's totals as the last record or plan left them. */
  async summary(campaignId: string): Promise<Pick<RecordSummary, 'settled' | 'targeted' | 'lastWave'>> {
    const [partitions, targeted, lastWave] = await this.redis.hmget(
      this.keys.campaign(campaignId).stats,
      'partitions',
      'targeted',
      'last_wave',
    );
    const [settled] = (await sumPartitionFields(this.redis, this.keys, campaignId, pinnedPartitions(partitions), ['settled'])) as [number];
    return { settled, targeted: Number(targeted ?? 0), lastWave: lastWave === null ? null : Number(lastWave) };
  }

  /**
   * Starts fresh guards' windows, the shared one and each provider's, in every partition (a resume: the failures that
   * paused the campaign do not pause it again), and moves each partition's window generation on in the same script
   * (dispatch-guards-reset-1.lua): answers to sends made before this are then left out of the new windows. The
   * partitions are reset one after another; then the campaign's guard generation moves on, so a verdict reached
   * while some partitions still had their old windows (its batch read the generation before) is not applied.
   */
  async newGuardWindows(campaignId: string): Promise<void> {
    for (const p of partitionsUpTo(await this.partitionsOf(campaignId))) {
      await this.scripts.guardsReset([this.keys.campaignPartition(campaignId, p).stats], []);
    }
    await this.redis.hincrby(this.keys.campaign(campaignId).stats, GUARD_GENERATION, 1);
  }

  /** The campaign's guard generation: how many times its guards' windows were all started afresh. */
  async guardGeneration(campaignId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.campaign(campaignId).stats, GUARD_GENERATION)) ?? 0);
  }

  /** Whether any recipient's final outcome is a failure in `scope` (a resend has something to do). */
  async hasFailures(campaignId: string, scope: 'transient' | 'failed'): Promise<boolean> {
    for (const p of partitionsUpTo(await this.partitionsOf(campaignId))) {
      const k = this.keys.campaignPartition(campaignId, p);
      if ((await this.redis.bitcount(scope === 'transient' ? k.transient : k.failed)) > 0) return true;
    }
    return false;
  }

  /** Takes failed recipients (in `scope`) of one wave out of the ledger to be sent again; returns those taken. */
  async reopen(campaignId: string, wave: number, scope: 'transient' | 'failed', deviceIds: readonly string[]): Promise<string[]> {
    if (deviceIds.length === 0) return [];
    const layout = await this.layoutOf(campaignId);
    const { of } = layout;
    const reopened = new Set<string>();
    for (const [index, ids] of byPartition(deviceIds, of, (id) => id, layout.block)) {
      const partition = partitionIn(index, layout);
      const k = this.keys.campaignPartition(campaignId, partition);
      const offsets = await this.scripts.reopen(
        [k.settled, k.failed, k.transient, k.stats],
        [wave, scope, ...ids.map((id) => bitOffset(id, of, layout.block))],
      );
      for (const offset of offsets) reopened.add(deviceAt(Number(offset), partition));
    }
    if (reopened.size > 0) {
      // The wave is sending again (with one partition the script removed it from the same hash).
      if (of > 1) await this.redis.hdel(this.keys.campaign(campaignId).stats, `w${wave}:finished_at`);
      await this.markDirty(campaignId);
    }
    return deviceIds.filter((id) => reopened.has(id));
  }

  /**
   * Messages sent per second since `fromSecond` (epoch seconds), oldest first; fields older than it are removed (the
   * pacing controller's horizon: what was sent before cannot bring anyone any more).
   */
  async sendsSince(campaignId: string, fromSecond: number): Promise<Array<{ second: number; count: number }>> {
    const bySecond = new Map<number, number>();
    for (const p of partitionsUpTo(await this.partitionsOf(campaignId))) {
      const key = this.keys.campaignPartition(campaignId, p).sends;
      const old: string[] = [];
      for (const [field, value] of Object.entries(await this.redis.hgetall(key))) {
        const second = Number(field);
        if (second < fromSecond) old.push(field);
        else bySecond.set(second, (bySecond.get(second) ?? 0) + Number(value));
      }
      if (old.length > 0) await this.redis.hdel(key, ...old);
    }
    return [...bySecond].map(([second, count]) => ({ second, count })).sort((a, b) => a.second - b.second);
  }

  /** Notes that pacing slowed (`paced`) or held (`held`) the campaign while its latest wave was sending. */
  async markPaced(campaignId: string, state: 'paced' | 'held'): Promise<void> {
    const stats = this.keys.campaign(campaignId).stats;
    const wave = Number((await this.redis.hget(stats, 'waves')) ?? 0);
    if (wave > 0) await this.redis.hset(stats, `w${wave}:${state}`, 1);
  }

  /** Whether pacing slowed or held the campaign while wave `wave` was its latest. */
  async pacingOf(campaignId: string, wave: number): Promise<{ paced: boolean; held: boolean }> {
    const [paced, held] = await this.redis.hmget(this.keys.campaign(campaignId).stats, `w${wave}:paced`, `w${wave}:held`);
    return { paced: paced !== null || held !== null, held: held !== null };
  }

  /**
   * Keeps the campaign's status and its reason beside its counters (the lifecycle writes it on every change), so the
   * stats route can answer while PostgreSQL is out of reach.
   */
  async rememberStatus(campaignId: string, status: string, reason: string | null): Promise<void> {
    await this.redis.hset(this.keys.campaign(campaignId).stats, 'status', status, 'status_reason', reason ?? '');
  }

  /** The status the lifecycle last wrote beside the counters, or null (never written, or the hash was lost). */
  async rememberedStatus(campaignId: string): Promise<{ status: string; reason: string | null } | null> {
    const [status, reason] = await this.redis.hmget(this.keys.campaign(campaignId).stats, 'status', 'status_reason');
    return status === null || status === undefined ? null : { status, reason: reason || null };
  }

  /** When the watchdog last re-drove the campaign (ms since the epoch), or null. */
  async redrivenAt(campaignId: string): Promise<number | null> {
    const at = await this.redis.hget(this.keys.campaign(campaignId).stats, 'redriven_at');
    return at === null ? null : Number(at);
  }

  /**
   * Claims a re-drive of the campaign (one worker at a time: a lock for `lockMs`) and counts it: the number of
   * re-drives in a row without progress in between, this one included. Null when another worker holds the claim.
   */
  async markRedriven(campaignId: string, now: number, lockMs = 30_000): Promise<number | null> {
    const k = this.keys.campaign(campaignId);
    if ((await this.redis.set(k.redriveLock, String(now), 'PX', lockMs, 'NX')) !== 'OK') return null;
    const [redrivenAt, redrives] = await this.redis.hmget(k.stats, 'redriven_at', 'redrives');
    const progressed = ((await this.progressAt(campaignId)) ?? 0) > Number(redrivenAt ?? 0);
    const count = progressed ? 1 : Number(redrives ?? 0) + 1;
    await this.redis.hset(k.stats, 'redriven_at', now, 'redrives', count);
    return count;
  }

  /** A new number for a resend's batch ids (so they never collide with a job id BullMQ still holds). */
  async nextResendGeneration(campaignId: string): Promise<number> {
    return this.redis.hincrby(this.keys.campaign(campaignId).stats, 'resend_generation', 1);
  }

  /** Takes messages from every limit given, or from none: 0 when taken, else the milliseconds to wait. */
  async takeRate(takes: readonly RateTake[], now = Date.now()): Promise<number> {
    const [wait] = await atOnce(this.redis, [this.rateCommand(takes, now)]);
    return Number(wait);
  }

  /**
   * takeRate, the ledger check of a batch of one partition (`unsettled`), the partition's window generation (for
   * `record`) and the campaign's guard generation (for a verdict: CampaignLifecycle.autoPause) at once (one round trip
   * on a standalone server): a batch that must wait does not use its ledger read.
   */
  async takeRateAndCheck(
    takes: readonly RateTake[],
    now: number,
    campaignId: string,
    deviceIds: readonly string[],
    partition: Partition,
  ): Promise<{ wait: number; unsettled: string[]; windowGeneration: number; guardGeneration: number }> {
    const read = deviceIds.length > 0 ? this.ledgerRead(campaignId, deviceIds, partition) : null;
    const generations: Command[] = [
      ['hget', this.keys.campaignPartition(campaignId, partition).stats, WINDOW_GENERATION],
      ['hget', this.keys.campaign(campaignId).stats, GUARD_GENERATION],
    ];
    const replies = await atOnce(this.redis, [this.rateCommand(takes, now), ...generations, ...(read ? [read.command] : [])]);
    const [wait, windowGeneration, guardGeneration, ledger] = replies;
    return {
      wait: Number(wait),
      unsettled: read ? read.unsettled(ledger) : [],
      windowGeneration: Number(windowGeneration ?? 0),
      guardGeneration: Number(guardGeneration ?? 0),
    };
  }

  private rateCommand(takes: readonly RateTake[], now: number): Command {
    if (takes.length > RATE_BUCKETS_PER_CALL) throw new Error(`at most ${RATE_BUCKETS_PER_CALL} rate limits per call`);
    const keys: string[] = [];
    const args: Array<string | number> = [now, RATE_BURST_MS];
    for (let i = 0; i < RATE_BUCKETS_PER_CALL; i++) {
      const take = takes[i];
      // Unused slots still need a key in the same slot: the global bucket with a count of 0 is never touched.
      keys.push(take?.key ?? this.keys.limits.global);
      args.push(take && this.mayHold(take) ? take.count : 0, take?.perMinute ?? 0);
    }
    return [RATE_COMMAND, ...keys, ...args];
  }

  /**
   * Whether a take can make a batch wait, i.e. whether the script must read its bucket: one with a rate, or a
   * provider's (a 429 blocks it for its Retry-After and halves its factor whatever its rate: penalise). A global or
   * campaign bucket without a rate holds nothing and is never written, so it goes with a count of 0 and the script
   * does not read it: with no limits set, a batch of all three platforms reads 3 buckets instead of 8 (one of one
   * platform, 1 instead of 3), all in the one `{limits}` slot (on a Cluster, one master's: issue #11's balance).
   */
  private mayHold(take: RateTake): boolean {
    return (take.perMinute !== null && take.perMinute > 0) || take.key.startsWith(this.keys.limits.providerPrefix);
  }

  /** A provider answered 429: block its bucket for `blockMs` and halve its rate factor. Returns the new factor. */
  async penalise(provider: string, blockMs: number, now = Date.now()): Promise<number> {
    return Number(
      await this.scripts.penalty([this.keys.limits.provider(provider)], [now, Math.max(0, Math.ceil(blockMs)), MIN_PENALTY_FACTOR]),
    );
  }

  /** Remembers a job parked while its campaign is paused (`<queue>|<job id>`). */
  async park(campaignId: string, queue: string, jobId: string): Promise<void> {
    await this.redis.sadd(this.keys.campaign(campaignId).parked, `${queue}|${jobId}`);
  }

  /** Takes every parked job of a campaign (they are to be woken now). */
  async takeParked(campaignId: string): Promise<Array<{ queue: string; jobId: string }>> {
    const key = this.keys.campaign(campaignId).parked;
    const members = await this.redis.smembers(key);
    if (members.length > 0) await this.redis.srem(key, ...members);
    return members.map((m) => {
      const at = m.indexOf('|');
      return { queue: m.slice(0, at), jobId: m.slice(at + 1) };
    });
  }

  /** Up to `count` campaigns whose counters changed since they were last flushed (removed from the set). */
  async takeDirty(count: number): Promise<string[]> {
    return (await this.redis.spop(this.keys.dispatchDirty, count)) ?? [];
  }

  async markDirty(campaignId: string): Promise<void> {
    await this.redis.sadd(this.keys.dispatchDirty, campaignId);
  }

  /** The raw stats hash, every partition's counters merged in (for the write-behind flush). */
  stats(campaignId: string): Promise<Record<string, string>> {
    return readStatsHash(this.redis, this.keys, campaignId);
  }
}
