import { Inject, Injectable } from '@nestjs/common';
import { CampaignPaceStore, REDIS, RedisKeys, type RedisClient, type StoredPace } from '@tidegate/redis';

/** How long a worker trusts the pace it read (the controller decides once a second). */
export const PACE_CACHE_MS = 500;

/**
 * The pacing decision as the senders and the planner read it: from Redis, cached for half a second per process (a
 * batch of every campaign asks; one read serves them all).
 */
@Injectable()
export class PaceReader {
  private readonly store: CampaignPaceStore;
  private readonly cache = new Map<string, { at: number; value: Promise<StoredPace | null> }>();

  constructor(@Inject(REDIS) redis: RedisClient, keys: RedisKeys) {
    this.store = new CampaignPaceStore(redis, keys);
  }

  read(campaignId: string): Promise<StoredPace | null> {
    const now = Date.now();
    const cached = this.cache.get(campaignId);
    if (cached && now - cached.at <= PACE_CACHE_MS) return cached.value;
    const value = this.store.read(campaignId);
    value.catch(() => this.cache.delete(campaignId));
    this.cache.set(campaignId, { at: now, value });
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value as string);
    return value;
  }
}
