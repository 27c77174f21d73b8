/**
 * Reads a campaign's live counters from its stats hash (`keys.campaign(id).stats`), which the dispatch workers write
 * with Lua. The hash's layout is the contract:
 *
 * - `targeted`, `sent`, `failed`, `invalid`, `skipped`, `inactive`, `opened`: campaign totals (missing: 0)
 * - `sent:fcm`, `sent:apns`, `sent:webpush`: sent per provider
 * - `w<k>:targeted`, `w<k>:sent`, … `w<k>:inactive`: per wave k (1-based); `w<k>:finished_at`: when its last
 *   recipient had an outcome or was held (ms since the epoch)
 * - `waves`: waves materialised so far; `last_wave`: set (to k) once the final wave is planned
 *
 * Other fields (`settled`, `recent_total`, …) belong to the workers and are ignored here. A partitioned campaign's
 * outcome counters are in its partitions' hashes: readCampaignStats merges them in (dispatch-merge.ts).
 */
import type { RedisClient } from './connection';
import { readStatsHash } from './dispatch-merge';
import type { RedisKeys } from './keys';

export const STATS_COUNTERS = ['targeted', 'sent', 'failed', 'invalid', 'skipped', 'inactive'] as const;
export type StatsCounter = (typeof STATS_COUNTERS)[number];
export const STATS_PROVIDERS = ['fcm', 'apns', 'webpush'] as const;
export type StatsProvider = (typeof STATS_PROVIDERS)[number];

export type WaveCounters = Record<StatsCounter, number>;

export interface WaveStats extends WaveCounters {
  /** 1-based. */
  wave: number;
  /** When the wave finished sending (every recipient an outcome, or held for quiet hours); null while it sends. */
  finished_at: Date | null;
}

export interface CampaignStatsSnapshot extends WaveCounters {
  /** Distinct openers (users, or devices without a user) reported by the app. */
  opened: number;
  by_provider: Record<StatsProvider, number>;
  /** Waves that have counters, in order. */
  waves: WaveStats[];
  /** Waves materialised so far. */
  waves_planned: number;
  /** The last wave's number once it is planned; null before. */
  final_wave: number | null;
}

const WAVE_FIELD = /^w([1-9][0-9]{0,8}):([a-z_]+)$/;

/** A counter's value: a whole number, anything else (missing, garbage) 0. */
function count(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : 0;
}

const isCounter = (name: string): name is StatsCounter => (STATS_COUNTERS as readonly string[]).includes(name);

export const emptyWaveCounters = (): WaveCounters => ({ targeted: 0, sent: 0, failed: 0, invalid: 0, skipped: 0, inactive: 0 });

/**
 * The snapshot a stats hash holds, or null when it holds no campaign counters at all (missing, or Redis lost it):
 * the caller then falls back to the counters flushed to PostgreSQL.
 */
export function parseCampaignStats(hash: Readonly<Record<string, string>>): CampaignStatsSnapshot | null {
  if (hash.targeted === undefined && hash.waves === undefined && hash.sent === undefined) return null;
  const waves = new Map<number, WaveStats>();
  for (const [field, value] of Object.entries(hash)) {
    const match = WAVE_FIELD.exec(field);
    const name = match?.[2];
    if (!match || (name !== 'finished_at' && !isCounter(name!))) continue;
    const wave = Number(match[1]);
    let entry = waves.get(wave);
    if (!entry) waves.set(wave, (entry = { wave, ...emptyWaveCounters(), finished_at: null }));
    if (name === 'finished_at') entry.finished_at = count(value) > 0 ? new Date(count(value)) : null;
    else entry[name] = count(value);
  }
  const lastWave = count(hash.last_wave);
  return {
    targeted: count(hash.targeted),
    sent: count(hash.sent),
    failed: count(hash.failed),
    invalid: count(hash.invalid),
    skipped: count(hash.skipped),
    inactive: count(hash.inactive),
    opened: count(hash.opened),
    by_provider: { fcm: count(hash['sent:fcm']), apns: count(hash['sent:apns']), webpush: count(hash['sent:webpush']) },
    waves: [...waves.values()].sort((a, b) => a.wave - b.wave),
    waves_planned: count(hash.waves),
    final_wave: lastWave > 0 ? lastWave : null,
  };
}

/** A campaign's live counters, or null when Redis holds none for it. */
export async function readCampaignStats(redis: RedisClient, keys: RedisKeys, campaignId: string): Promise<CampaignStatsSnapshot | null> {
  return parseCampaignStats(await readStatsHash(redis, keys, campaignId));
}

/**
 * Counts one more opener in the campaign's stats hash, only if the hash exists: a hash Redis lost is not re-created
 * holding `opened` alone (the write-behind flush would then copy that partial count over PostgreSQL's). Returns the
 * new count, or null when the hash was missing. The campaign is marked for the next write-behind flush. Two commands, not one script: a hash that vanishes between them is
 * re-created with `opened` only, which `parseCampaignStats` treats as missing.
 */
export async function countCampaignOpen(redis: RedisClient, keys: RedisKeys, campaignId: string): Promise<number | null> {
  const key = keys.campaign(campaignId).stats;
  if ((await redis.exists(key)) === 0) return null;
  const opened = await redis.hincrby(key, 'opened', 1);
  // Marked for the workers' write-behind flush, which otherwise visits only running and paused campaigns.
  await redis.sadd(keys.dispatchDirty, campaignId);
  return opened;
}
