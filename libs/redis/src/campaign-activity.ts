/**
 * What a running campaign's sender waits for right now (a wave held for its room's pressure, the send window, an
 * earlier wave), kept in Redis so the admin API shows it live while it lasts. One writer (the planner) and one
 * reader (`read`, which validates what it finds). Each hold expires on its own a little after the planner meant to
 * look again, so a planner that died leaves no stale "held".
 */
import type { RedisClient } from './connection';
import type { RedisKeys } from './keys';

export interface CampaignActivity {
  state: 'held';
  /** room_pressure, window, previous_wave… */
  reason: string;
  /** The reason in words, with the figures. */
  message: string;
  /** When this hold began (ms since the epoch). */
  since: number;
  wave: number | null;
  figures: Record<string, unknown>;
}

/** A hold not renewed for this long has ended (the planner re-checks every half second). */
export const ACTIVITY_TTL_MS = 5000;

export class CampaignActivityStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Records (or renews) a hold. Returns the hold in force before: null, or one with another reason or wave, means
   * this hold is new (the caller writes it on the timeline); `since` is kept while the reason and wave stay the same.
   */
  async hold(
    campaignId: string,
    next: Omit<CampaignActivity, 'state' | 'since'>,
    now: number,
    ttlMs = ACTIVITY_TTL_MS,
  ): Promise<CampaignActivity | null> {
    const key = this.keys.campaign(campaignId).activity;
    const previous = parseActivity(await this.redis.get(key));
    const same = previous !== null && previous.reason === next.reason && previous.wave === next.wave;
    const value: CampaignActivity = { state: 'held', ...next, since: same ? previous.since : now };
    await this.redis.set(key, JSON.stringify(value), 'PX', Math.max(1, Math.ceil(ttlMs)));
    return previous;
  }

  /** Ends the hold, if any; returns it (the caller writes the release on the timeline). */
  async release(campaignId: string): Promise<CampaignActivity | null> {
    const key = this.keys.campaign(campaignId).activity;
    const previous = parseActivity(await this.redis.get(key));
    if (previous) await this.redis.del(key);
    return previous;
  }

  async read(campaignId: string): Promise<CampaignActivity | null> {
    return parseActivity(await this.redis.get(this.keys.campaign(campaignId).activity));
  }
}

/** The stored JSON as a CampaignActivity, or null when absent or not of that shape. */
export function parseActivity(raw: string | null): CampaignActivity | null {
  if (!raw) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (o.state !== 'held' || typeof o.reason !== 'string' || typeof o.message !== 'string' || typeof o.since !== 'number') return null;
  const wave = typeof o.wave === 'number' ? o.wave : null;
  const figures = typeof o.figures === 'object' && o.figures !== null ? (o.figures as Record<string, unknown>) : {};
  return { state: 'held', reason: o.reason, message: o.message, since: o.since, wave, figures };
}
