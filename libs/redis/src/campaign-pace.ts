/**
 * The pacing controller's latest decision for a campaign, kept in Redis so every sender and planner (any worker) and
 * the admin API read the same one. One writer (the worker that paced the campaign this second) and one reader that
 * validates. A decision expires a few seconds after it was made: a campaign whose pacer stopped is not held forever.
 */
import type { RedisClient } from './connection';
import type { RedisKeys } from './keys';

export interface StoredPace {
  state: 'sending' | 'paced' | 'held';
  /** Messages per second the campaign may send (0 while held). */
  sendPerSecond: number;
  reason: string;
  message: string;
  figures: Record<string, unknown>;
  /** When it was decided (ms since the epoch). */
  at: number;
}

/** A decision not renewed for this long is gone (the pacer decides every second). */
export const PACE_TTL_MS = 5000;

export class CampaignPaceStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async write(campaignId: string, pace: StoredPace, ttlMs = PACE_TTL_MS): Promise<void> {
    await this.redis.set(this.keys.campaign(campaignId).pace, JSON.stringify(pace), 'PX', ttlMs);
  }

  async read(campaignId: string): Promise<StoredPace | null> {
    return parsePace(await this.redis.get(this.keys.campaign(campaignId).pace));
  }

  /** Claims this second's decision for the campaign (one worker decides; the others read). */
  async claim(campaignId: string, ms: number): Promise<boolean> {
    return (await this.redis.set(this.keys.campaign(campaignId).paceLock, '1', 'PX', Math.max(1, ms), 'NX')) === 'OK';
  }
}

const STATES = new Set(['sending', 'paced', 'held']);

export function parsePace(raw: string | null): StoredPace | null {
  if (!raw) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.state !== 'string' || !STATES.has(o.state)) return null;
  if (typeof o.sendPerSecond !== 'number' || !(o.sendPerSecond >= 0)) return null;
  if (typeof o.at !== 'number' || typeof o.reason !== 'string' || typeof o.message !== 'string') return null;
  const figures = typeof o.figures === 'object' && o.figures !== null ? (o.figures as Record<string, unknown>) : {};
  return { state: o.state as StoredPace['state'], sendPerSecond: o.sendPerSecond, reason: o.reason, message: o.message, figures, at: o.at };
}
