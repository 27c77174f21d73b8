/**
 * Campaign dispatch state in Redis: the per-campaign ledgers (bitmaps indexed by device id), the counters, the parked
 * jobs of a paused campaign, and the rate-limit buckets. Everything a retry or a restarted worker might do twice goes
 * through a Lua script that counts each device once (scripts/dispatch-*.lua have the contracts).
 *
 * Memory: a bitmap takes one bit per device id up to the largest id sent to (1.25 MB per 10 M ids), whatever the
 * campaign's size; the stats hash holds a few fields per wave. Nothing here grows with a campaign's recipients
 * beyond that. Device ids must stay below 2^32 (Redis's largest bit offset).
 */
import type { RedisClient } from './connection';
import type { RedisKeys } from './keys';
import { defineScript, type ScriptCall } from './scripts';

/**
 * How one device's send ended, as the ledger records it. `held` is not final: the device is sent later. `retrying` is
 * not an outcome either: a transient failure that will be tried again, counted only by the guards (each time).
 * `failed_transient` is final like `failed` but remembered as transient: a resume sends it again.
 */
export type RecordedOutcome =
  | { deviceId: string; outcome: 'sent'; /** The platform (fcm, apns, webpush): counted as sent:<platform>. */ provider: string }
  | { deviceId: string; outcome: 'invalid' | 'failed' | 'failed_transient' | 'inactive' | 'held' | 'retrying' };

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
  /** Outcomes this call counted (the rest had been recorded before). */
  counted: number;
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
/** How far ahead of now a bucket may be booked: one second of sending at the limit. */
export const RATE_BURST_MS = 1000;
const MIN_PENALTY_FACTOR = 0.05;

export class DispatchStore {
  private readonly scripts: {
    plan: ScriptCall<number[]>;
    record: ScriptCall<number[]>;
    reopen: ScriptCall<string[]>;
    rate: ScriptCall<number>;
    penalty: ScriptCall<string>;
  };

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.scripts = {
      plan: defineScript(redis, 'tidegateDispatchPlan', 'dispatch-plan-1.lua'),
      record: defineScript(redis, 'tidegateDispatchRecord', 'dispatch-record-7.lua'),
      reopen: defineScript(redis, 'tidegateDispatchReopen', 'dispatch-reopen-4.lua'),
      rate: defineScript(redis, 'tidegateDispatchRate', 'dispatch-rate-8.lua'),
      penalty: defineScript(redis, 'tidegateDispatchPenalty', 'dispatch-penalty-1.lua'),
    };
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
    return { settled: Number(settled), targeted: Number(targeted), lastWave: Number(lastWave) || null };
  }

  /** The ids of `deviceIds` that have no final outcome yet (the ledger check before sending), in the given order. */
  async unsettled(campaignId: string, deviceIds: readonly string[]): Promise<string[]> {
    if (deviceIds.length === 0) return [];
    const args: string[] = [];
    for (const id of deviceIds) args.push('GET', 'u1', id);
    // BITFIELD with GET only: one round trip for the whole batch (ioredis's overloads cannot type a variable list).
    const bitfield = this.redis.bitfield.bind(this.redis) as unknown as (key: string, ...a: string[]) => Promise<number[]>;
    const bits = await bitfield(this.keys.campaign(campaignId).settled, ...args);
    return deviceIds.filter((_, i) => bits[i] === 0);
  }

  /** Records outcomes of one wave's sends; each device is counted once however often it is recorded. */
  async record(
    campaignId: string,
    wave: number,
    outcomes: readonly RecordedOutcome[],
    errorWindow: number,
    now = Date.now(),
  ): Promise<RecordSummary> {
    const k = this.keys.campaign(campaignId);
    const args: Array<string | number> = [wave, errorWindow, now];
    for (const o of outcomes) args.push(o.deviceId, o.outcome === 'sent' ? `s:${o.provider}` : CODES[o.outcome]);
    const [settled, targeted, lastWave, recentTotal, recentFailed, recentInvalid, counted] = await this.scripts.record(
      [k.settled, k.sentLedger, k.held, k.stats, k.failed, k.transient, k.sends],
      args,
    );
    await this.redis.sadd(this.keys.dispatchDirty, campaignId);
    return {
      settled: Number(settled),
      targeted: Number(targeted),
      lastWave: Number(lastWave) || null,
      recentTotal: Number(recentTotal),
      recentFailed: Number(recentFailed),
      recentInvalid: Number(recentInvalid),
      counted: Number(counted),
    };
  }

  /** Progress of one wave: recipients, those with a final outcome, those held for quiet hours now. */
  async waveProgress(campaignId: string, wave: number): Promise<{ targeted: number | null; settled: number; holding: number }> {
    const [targeted, settled, holding] = await this.redis.hmget(
      this.keys.campaign(campaignId).stats,
      `w${wave}:targeted`,
      `w${wave}:settled`,
      `w${wave}:holding`,
    );
    return { targeted: targeted === null ? null : Number(targeted), settled: Number(settled ?? 0), holding: Number(holding ?? 0) };
  }

  /** When a wave was last counted or an outcome last recorded (ms since the epoch), or null if never. */
  async progressAt(campaignId: string): Promise<number | null> {
    const at = await this.redis.hget(this.keys.campaign(campaignId).stats, 'progress_at');
    return at === null ? null : Number(at);
  }

  /** The campaign's totals as the last record or plan left them. */
  async summary(campaignId: string): Promise<Pick<RecordSummary, 'settled' | 'targeted' | 'lastWave'>> {
    const [settled, targeted, lastWave] = await this.redis.hmget(this.keys.campaign(campaignId).stats, 'settled', 'targeted', 'last_wave');
    return { settled: Number(settled ?? 0), targeted: Number(targeted ?? 0), lastWave: lastWave === null ? null : Number(lastWave) };
  }

  /** Starts a fresh guards' window (after a resume, so the failures that paused it do not pause it again). */
  async resetErrorWindow(campaignId: string): Promise<void> {
    await this.redis.hset(this.keys.campaign(campaignId).stats, 'recent_total', 0, 'recent_failed', 0, 'recent_invalid', 0);
  }

  /** Whether any recipient's final outcome is a failure in `scope` (a resend has something to do). */
  async hasFailures(campaignId: string, scope: 'transient' | 'failed'): Promise<boolean> {
    const k = this.keys.campaign(campaignId);
    return (await this.redis.bitcount(scope === 'transient' ? k.transient : k.failed)) > 0;
  }

  /** Takes failed recipients (in `scope`) of one wave out of the ledger to be sent again; returns those taken. */
  async reopen(campaignId: string, wave: number, scope: 'transient' | 'failed', deviceIds: readonly string[]): Promise<string[]> {
    if (deviceIds.length === 0) return [];
    const k = this.keys.campaign(campaignId);
    const ids = await this.scripts.reopen([k.settled, k.failed, k.transient, k.stats], [wave, scope, ...deviceIds]);
    if (ids.length > 0) await this.markDirty(campaignId);
    return ids.map(String);
  }

  /**
   * Messages sent per second since `fromSecond` (epoch seconds), oldest first; fields older than it are removed (the
   * pacing controller's horizon: what was sent before cannot bring anyone any more).
   */
  async sendsSince(campaignId: string, fromSecond: number): Promise<Array<{ second: number; count: number }>> {
    const key = this.keys.campaign(campaignId).sends;
    const all = await this.redis.hgetall(key);
    const out: Array<{ second: number; count: number }> = [];
    const old: string[] = [];
    for (const [field, value] of Object.entries(all)) {
      const second = Number(field);
      if (second < fromSecond) old.push(field);
      else out.push({ second, count: Number(value) });
    }
    if (old.length > 0) await this.redis.hdel(key, ...old);
    return out.sort((a, b) => a.second - b.second);
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
    const [progressAt, redrivenAt, redrives] = await this.redis.hmget(k.stats, 'progress_at', 'redriven_at', 'redrives');
    const progressed = Number(progressAt ?? 0) > Number(redrivenAt ?? 0);
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
    if (takes.length > RATE_BUCKETS_PER_CALL) throw new Error(`at most ${RATE_BUCKETS_PER_CALL} rate limits per call`);
    const keys: string[] = [];
    const args: Array<string | number> = [now, RATE_BURST_MS];
    for (let i = 0; i < RATE_BUCKETS_PER_CALL; i++) {
      const take = takes[i];
      // Unused slots still need a key in the same slot: the global bucket with a count of 0 is never touched.
      keys.push(take?.key ?? this.keys.limits.global);
      args.push(take?.count ?? 0, take?.perMinute ?? 0);
    }
    return Number(await this.scripts.rate(keys, args));
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

  /** The raw stats hash (for the write-behind flush). */
  stats(campaignId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.campaign(campaignId).stats);
  }
}
