import { Inject, Injectable, Logger } from '@nestjs/common';
import { CampaignRepository, type Campaign, type CampaignStats, type CampaignWave, type FlushedFunnelRow } from '@tidegate/database';
import { FUNNEL_BUCKETS, funnelHistogram, funnelQuantile } from '@tidegate/domain';
import {
  FunnelStore,
  DispatchStore,
  REDIS,
  RedisKeys,
  emptyFunnel,
  parseFunnel,
  type FunnelSnapshot,
  STATS_PROVIDERS,
  emptyWaveCounters,
  readCampaignStats,
  type CampaignStatsSnapshot,
  type RedisClient,
  type WaveCounters,
} from '@tidegate/redis';
import type { CampaignFunnelView, CampaignStatsView, CampaignTotalsView, DurationQuantilesView, WaveStatsView } from '../campaigns.dto';

type Source = CampaignTotalsView['source'];

/** Statuses in which nothing was sent yet: their counters are zero, nothing is read. */
const NOTHING_SENT: ReadonlySet<Campaign['status']> = new Set(['draft', 'scheduled']);

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

function emptySnapshot(): CampaignStatsSnapshot {
  return {
    ...emptyWaveCounters(),
    opened: 0,
    by_provider: { fcm: 0, apns: 0, webpush: 0 },
    waves: [],
    waves_planned: 0,
    final_wave: null,
  };
}

const countersOf = (row: WaveCounters): WaveCounters => ({
  targeted: row.targeted,
  sent: row.sent,
  failed: row.failed,
  invalid: row.invalid,
  skipped: row.skipped,
  inactive: row.inactive,
});

/**
 * The counters flushed to PostgreSQL as a snapshot: campaign_stats for the totals (summed from the waves when it has
 * no row yet), campaign_waves for each wave. The final wave is known only once the campaign completed.
 */
export function snapshotFromFlushed(
  stats: CampaignStats | null,
  waves: readonly CampaignWave[],
  status: Campaign['status'],
): CampaignStatsSnapshot {
  const out = emptySnapshot();
  out.waves = waves.map((w) => ({ wave: w.wave, ...countersOf(w), finished_at: w.finishedAt }));
  out.waves_planned = Math.max(stats?.waves ?? 0, ...waves.map((w) => w.wave));
  out.final_wave = status === 'completed' && out.waves_planned > 0 ? out.waves_planned : null;
  if (stats) {
    Object.assign(out, countersOf(stats), { opened: stats.opened });
    const byProvider = (stats.byProvider ?? {}) as Partial<Record<string, unknown>>;
    for (const provider of STATS_PROVIDERS) {
      const n = byProvider[provider];
      out.by_provider[provider] = typeof n === 'number' && Number.isSafeInteger(n) ? n : 0;
    }
  } else {
    for (const w of out.waves) for (const key of Object.keys(emptyWaveCounters()) as Array<keyof WaveCounters>) out[key] += w[key];
  }
  return out;
}

/** Each wave once: counters from the snapshot, times and size from its PostgreSQL row (when there is one). */
export function mergeWaves(snapshot: CampaignStatsSnapshot, rows: readonly CampaignWave[]): WaveStatsView[] {
  const byWave = new Map<number, WaveStatsView>();
  const entry = (wave: number): WaveStatsView => {
    let view = byWave.get(wave);
    if (!view)
      byWave.set(
        wave,
        (view = { wave, ...emptyWaveCounters(), size: null, due_at: null, started_at: null, finished_at: null, start_note: null }),
      );
    return view;
  };
  for (const row of rows)
    Object.assign(entry(row.wave), countersOf(row), {
      size: row.size,
      due_at: row.dueAt,
      started_at: row.startedAt,
      finished_at: row.finishedAt,
      start_note: row.startNote,
    });
  for (const wave of snapshot.waves) {
    const view = Object.assign(entry(wave.wave), countersOf(wave));
    if (wave.finished_at) view.finished_at = wave.finished_at;
  }
  return [...byWave.values()].sort((a, b) => a.wave - b.wave);
}

const bucketCounts = (value: unknown): number[] =>
  Array.isArray(value) && value.length <= FUNNEL_BUCKETS
    ? value.map((n) => (Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : 0))
    : [];

/** The funnel PostgreSQL holds, its JSON columns validated (anything malformed reads as nothing). */
export function funnelFromFlushed(row: FlushedFunnelRow): FunnelSnapshot {
  const out = emptyFunnel();
  Object.assign(out, { opened: row.opened, queued: row.queued, admitted: row.admitted, replayed: row.replayed });
  out.queueMs = bucketCounts(row.queueMs);
  out.openDelayMs = bucketCounts(row.openDelayMs);
  const count = (n: unknown) => (Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : 0);
  out.waves = (Array.isArray(row.waves) ? (row.waves as Array<Record<string, unknown>>) : [])
    .filter((w) => typeof w === 'object' && w !== null && Number.isSafeInteger(w.wave))
    .map((w) => ({ wave: w.wave as number, opened: count(w.opened), queued: count(w.queued), admitted: count(w.admitted) }));
  return out;
}

function quantiles(counts: readonly number[]): DurationQuantilesView {
  const h = funnelHistogram(counts);
  return { samples: h.samples, p50_ms: funnelQuantile(h, 0.5), p95_ms: funnelQuantile(h, 0.95) };
}

/** The funnel view: sent from the dispatch counters (per wave too), the rest from the wave tickets. */
export function funnelView(snapshot: CampaignStatsSnapshot, funnel: FunnelSnapshot): CampaignFunnelView {
  const waves = new Map<number, CampaignFunnelView['waves'][number]>();
  const entry = (wave: number) => {
    let w = waves.get(wave);
    if (!w) waves.set(wave, (w = { wave, sent: 0, opened: 0, queued: 0, admitted: 0 }));
    return w;
  };
  for (const w of snapshot.waves) entry(w.wave).sent = w.sent;
  for (const w of funnel.waves) Object.assign(entry(w.wave), { opened: w.opened, queued: w.queued, admitted: w.admitted });
  return {
    sent: snapshot.sent,
    opened: funnel.opened,
    queued: funnel.queued,
    admitted: funnel.admitted,
    replayed: funnel.replayed,
    queue_time: quantiles(funnel.queueMs),
    open_delay: quantiles(funnel.openDelayMs),
    waves: [...waves.values()].sort((a, b) => a.wave - b.wave),
  };
}

/**
 * A campaign's counters: live from its stats hash in Redis (which the dispatch workers write), or, when Redis holds
 * none for it (lost, expired) or does not answer, the counters last flushed to PostgreSQL. Draft and scheduled
 * campaigns have sent nothing: zeros, without a read.
 */
@Injectable()
export class CampaignStatsService {
  private readonly logger = new Logger('CampaignStats');

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly campaigns: CampaignRepository,
    private readonly funnels: FunnelStore,
    private readonly store: DispatchStore,
  ) {}

  /** The totals (for the campaign view). */
  async totals(campaign: Campaign): Promise<CampaignTotalsView> {
    const { snapshot, source } = await this.snapshot(campaign, false);
    return { ...countersOf(snapshot), opened: snapshot.opened, source };
  }

  /** Totals, per provider, and per wave merged with the waves' rows (due and start times, sizes). */
  async detail(campaign: Campaign): Promise<Omit<CampaignStatsView, 'status_reason' | 'activity' | 'database'>> {
    const { snapshot, source, rows, flushedAt } = await this.snapshot(campaign, true);
    return {
      campaign_id: campaign.id,
      status: campaign.status,
      source,
      ...countersOf(snapshot),
      opened: snapshot.opened,
      by_provider: snapshot.by_provider,
      waves_planned: snapshot.waves_planned,
      final_wave: snapshot.final_wave,
      flushed_at: flushedAt,
      waves: mergeWaves(snapshot, rows),
      funnel: funnelView(snapshot, await this.funnel(campaign)),
    };
  }

  /**
   * The stats from Redis alone, for when PostgreSQL is out of reach: the live counters, the funnel, and the status the
   * lifecycle copied beside them; waves without their rows' times and sizes. Null when Redis holds no status or no
   * counters for the campaign (nothing to serve: the caller answers 503).
   */
  async fromRedisOnly(campaignId: string): Promise<Omit<CampaignStatsView, 'activity'> | null> {
    const [remembered, live] = await Promise.all([this.store.rememberedStatus(campaignId), this.live(campaignId)]);
    if (!remembered || !live) return null;
    const funnel = await this.funnels.raw(campaignId).then(parseFunnel, () => emptyFunnel());
    return {
      campaign_id: campaignId,
      status: remembered.status as Campaign['status'],
      status_reason: remembered.reason,
      source: 'redis',
      ...countersOf(live),
      opened: live.opened,
      by_provider: live.by_provider,
      waves_planned: live.waves_planned,
      final_wave: live.final_wave,
      flushed_at: null,
      waves: mergeWaves(live, []),
      funnel: funnelView(live, funnel),
      database: 'unavailable',
    };
  }

  /**
   * The send->tap delays of the campaign's attributed opens, raw bucket counts with their bounds (the forecast fits
   * its open-delay model from them).
   */
  async openDelays(campaign: Campaign) {
    return funnelHistogram((await this.funnel(campaign)).openDelayMs);
  }

  /** The funnel: live from Redis, else (none there, or Redis out of reach) as last flushed to PostgreSQL. */
  private async funnel(campaign: Campaign): Promise<FunnelSnapshot> {
    if (NOTHING_SENT.has(campaign.status)) return emptyFunnel();
    try {
      const raw = await this.funnels.raw(campaign.id);
      if (Object.keys(raw).length > 0) return parseFunnel(raw);
    } catch (err) {
      this.logger.warn({
        msg: `campaign ${campaign.id}: live funnel unavailable, reading PostgreSQL: ${errorMessage(err)}`,
        campaignId: campaign.id,
      });
    }
    const row = await this.campaigns.flushedFunnel(campaign.id);
    return row ? funnelFromFlushed(row) : emptyFunnel();
  }

  private async snapshot(
    campaign: Campaign,
    withWaves: boolean,
  ): Promise<{ snapshot: CampaignStatsSnapshot; source: Source; rows: CampaignWave[]; flushedAt: Date | null }> {
    if (NOTHING_SENT.has(campaign.status)) return { snapshot: emptySnapshot(), source: 'none', rows: [], flushedAt: null };
    const [live, flushed] = await Promise.all([
      this.live(campaign.id),
      // The waves' rows are needed for the detail anyway; the totals read PostgreSQL only when Redis has nothing.
      withWaves ? this.campaigns.flushedStats(campaign.id) : null,
    ]);
    if (live) return { snapshot: live, source: 'redis', rows: flushed?.waves ?? [], flushedAt: null };
    const { stats, waves } = flushed ?? (await this.campaigns.flushedStats(campaign.id));
    if (!stats && waves.length === 0) return { snapshot: emptySnapshot(), source: 'none', rows: [], flushedAt: null };
    return {
      snapshot: snapshotFromFlushed(stats, waves, campaign.status),
      source: 'postgres',
      rows: waves,
      flushedAt: stats?.flushedAt ?? null,
    };
  }

  /** The live counters, or null when Redis has none or does not answer (the caller falls back to PostgreSQL). */
  private async live(campaignId: string): Promise<CampaignStatsSnapshot | null> {
    try {
      return await readCampaignStats(this.redis, this.keys, campaignId);
    } catch (err) {
      this.logger.warn({ msg: `campaign ${campaignId}: live counters unavailable, reading PostgreSQL: ${errorMessage(err)}`, campaignId });
      return null;
    }
  }
}
