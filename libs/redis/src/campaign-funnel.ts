/**
 * A campaign's funnel in Redis: sent (the dispatch counters) -> opened (a wave ticket presented, first time per
 * device) -> queued (that visitor got a place in the line, or in at once) -> admitted (that visitor got in), per
 * campaign and per wave, with the time in queue and the send->tap delay as fixed-bucket histograms
 * (libs/domain funnel-histogram). The gateway writes it (scripts wave-open-4 and wave-admit-1, off the response
 * path); the scheduler reads it for the stats API and copies it to PostgreSQL with the stats flush.
 *
 * The funnel hash (`keys.campaign(id).funnel`): `opened`, `queued`, `admitted`, `replayed`; `w<k>:opened|queued|
 * admitted` per wave k; `od:<bucket>` open delays; `qt:<bucket>` times in queue.
 */
import { FUNNEL_BUCKETS, funnelBucketOf, funnelHistogram, type FunnelHistogram } from '@tidegate/domain';
import type { RedisClient } from './connection';
import type { RedisKeys } from './keys';
import { defineScript, type ScriptCall } from './scripts';

export interface FunnelCounters {
  opened: number;
  queued: number;
  admitted: number;
}

export interface FunnelSnapshot extends FunnelCounters {
  /** Presentations of an already-counted ticket by another device (X-Device-Id): counted nothing else. */
  replayed: number;
  /** Per wave that has any count, in order. */
  waves: Array<FunnelCounters & { wave: number }>;
  /** Raw bucket counts (length FUNNEL_BUCKETS). */
  queueMs: number[];
  openDelayMs: number[];
}

/** What the gate did with the request that presented the ticket. */
export type FunnelArrival = 'queued' | 'admitted' | 'none';

export type WaveOpenResult = 'counted' | 'seen' | 'replay' | 'other_room';

/** How long a waiting ticket's attribution is kept for its admission (a line never lasts longer). */
export const WAVE_VISITOR_TTL_SECONDS = 86_400;
/** How long a campaign's room binding lives after its last batch: tickets expire long before. */
export const CAMPAIGN_ROOM_TTL_SECONDS = 35 * 86_400;
/** Redis bit offsets stop here: larger device ids are never attributed. */
const MAX_BIT_OFFSET = 2 ** 32 - 1;

const WAVE_FIELD = /^w([1-9][0-9]{0,8}):(opened|queued|admitted)$/;
const BUCKET_FIELD = /^(od|qt):([0-9]{1,3})$/;

const count = (value: string | undefined) => {
  const n = Number(value ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
};

export const emptyFunnel = (): FunnelSnapshot => ({
  opened: 0,
  queued: 0,
  admitted: 0,
  replayed: 0,
  waves: [],
  queueMs: new Array<number>(FUNNEL_BUCKETS).fill(0),
  openDelayMs: new Array<number>(FUNNEL_BUCKETS).fill(0),
});

/** The funnel a hash holds (missing fields and garbage read as 0). */
export function parseFunnel(hash: Readonly<Record<string, string>>): FunnelSnapshot {
  const out = emptyFunnel();
  out.opened = count(hash.opened);
  out.queued = count(hash.queued);
  out.admitted = count(hash.admitted);
  out.replayed = count(hash.replayed);
  const waves = new Map<number, FunnelCounters & { wave: number }>();
  for (const [field, value] of Object.entries(hash)) {
    const w = WAVE_FIELD.exec(field);
    if (w) {
      const wave = Number(w[1]);
      let entry = waves.get(wave);
      if (!entry) waves.set(wave, (entry = { wave, opened: 0, queued: 0, admitted: 0 }));
      entry[w[2] as keyof FunnelCounters] = count(value);
      continue;
    }
    const b = BUCKET_FIELD.exec(field);
    const bucket = Number(b?.[2]);
    if (b && bucket < FUNNEL_BUCKETS) (b[1] === 'od' ? out.openDelayMs : out.queueMs)[bucket] = count(value);
  }
  out.waves = [...waves.values()].sort((a, b) => a.wave - b.wave);
  return out;
}

export interface WaveOpen {
  campaignId: string;
  wave: number;
  deviceId: string;
  /** The room the request entered. */
  roomId: string;
  /** Digest of the request's X-Device-Id, or '' without one. */
  presenter: string;
  /** Send -> tap, ms. */
  openDelayMs: number;
  arrival: FunnelArrival;
}

export class FunnelStore {
  private readonly scripts: { open: ScriptCall<[string]>; admit: ScriptCall<number> };

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.scripts = {
      open: defineScript(redis, 'tidegateWaveOpen', 'wave-open-4.lua'),
      admit: defineScript(redis, 'tidegateWaveAdmit', 'wave-admit-1.lua'),
    };
  }

  /** The room a campaign's wave tickets count in (the sender writes it with each batch; null: none, nowhere). */
  async bindRoom(campaignId: string, roomId: string | null): Promise<void> {
    const key = this.keys.campaign(campaignId).room;
    if (roomId === null) await this.redis.del(key);
    else await this.redis.set(key, roomId, 'EX', CAMPAIGN_ROOM_TTL_SECONDS);
  }

  /** Counts a presented ticket (see wave-open-4.lua); the campaign is marked for the next stats flush when counted. */
  async open(o: WaveOpen): Promise<WaveOpenResult> {
    if (Number(o.deviceId) > MAX_BIT_OFFSET) return 'seen';
    const k = this.keys.campaign(o.campaignId);
    const [result] = await this.scripts.open(
      [k.room, k.opened, k.presenters, k.funnel],
      [o.roomId, o.wave, o.deviceId, o.presenter, funnelBucketOf(o.openDelayMs), o.arrival, funnelBucketOf(0)],
    );
    if (result !== 'counted' && result !== 'seen' && result !== 'replay' && result !== 'other_room') {
      throw new Error(`wave-open: unexpected answer ${JSON.stringify(result)}`);
    }
    if (result === 'counted' || result === 'replay') await this.redis.sadd(this.keys.dispatchDirty, o.campaignId);
    return result;
  }

  /** Remembers that waiting ticket `ticket` of `roomId` was attributed (counted on admission, see `admitted`). */
  async rememberQueued(roomId: string, ticket: number, campaignId: string, wave: number, queuedAtMs: number): Promise<void> {
    await this.redis.set(this.keys.room(roomId).waveVisitor(ticket), `${campaignId}|${wave}|${queuedAtMs}`, 'EX', WAVE_VISITOR_TTL_SECONDS);
  }

  /**
   * Waiting ticket `ticket` of `roomId` was admitted: if a wave ticket attributed it, counts the campaign's admitted
   * and the time in queue, once (GETDEL). Returns the campaign it counted for, or null.
   */
  async admitted(roomId: string, ticket: number, nowMs: number): Promise<string | null> {
    const value = await this.redis.getdel(this.keys.room(roomId).waveVisitor(ticket));
    const m = value ? /^([A-Za-z0-9_.:-]{1,128})\|([1-9][0-9]{0,8})\|([0-9]{1,15})$/.exec(value) : null;
    if (!m) return null;
    const [, campaignId, wave, queuedAt] = m as unknown as [string, string, string, string];
    await this.scripts.admit([this.keys.campaign(campaignId).funnel], [wave, funnelBucketOf(nowMs - Number(queuedAt))]);
    await this.redis.sadd(this.keys.dispatchDirty, campaignId);
    return campaignId;
  }

  /** The raw funnel hash (for the write-behind flush). */
  raw(campaignId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.campaign(campaignId).funnel);
  }

  async read(campaignId: string): Promise<FunnelSnapshot> {
    return parseFunnel(await this.raw(campaignId));
  }

  /**
   * The send->tap delays of this campaign's attributed opens, as raw bucket counts with their bounds: what the
   * forecast fits its open-delay model from.
   */
  async openDelays(campaignId: string): Promise<FunnelHistogram> {
    return funnelHistogram((await this.read(campaignId)).openDelayMs);
  }
}
