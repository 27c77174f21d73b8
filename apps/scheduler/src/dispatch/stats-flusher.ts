import { Injectable, Logger } from '@nestjs/common';
import { DispatchRepository, type DispatchCounters } from '@tidegate/database';
import { DispatchStore } from '@tidegate/redis';

const COUNTERS = ['targeted', 'sent', 'failed', 'invalid', 'skipped', 'inactive'] as const;
const PROVIDERS = ['fcm', 'apns', 'webpush'] as const;
const WAVE_FIELD = /^w(\d+):([a-z_]+)$/;

/** A campaign's stats hash (layout: docs/dispatch.md, "Stats") as the rows of campaign_stats and campaign_waves. */
export function countersFromHash(hash: Record<string, string>): {
  totals: DispatchCounters & { opened: number; byProvider: Record<string, number>; waves: number };
  waves: Array<{ wave: number; finishedAt: Date | null } & DispatchCounters>;
} {
  const n = (v: string | undefined) => Number(v ?? 0) || 0;
  const totals = {
    ...Object.fromEntries(COUNTERS.map((c) => [c, n(hash[c])])),
    opened: n(hash.opened),
    waves: n(hash.waves),
  } as DispatchCounters & {
    opened: number;
    waves: number;
  };
  const byProvider: Record<string, number> = {};
  for (const p of PROVIDERS) if (hash[`sent:${p}`] !== undefined) byProvider[p] = n(hash[`sent:${p}`]);
  const waves = new Map<number, { wave: number; finishedAt: Date | null } & DispatchCounters>();
  for (const [field, value] of Object.entries(hash)) {
    const m = WAVE_FIELD.exec(field);
    if (!m) continue;
    const wave = Number(m[1]);
    const row = waves.get(wave) ?? { wave, finishedAt: null, targeted: 0, sent: 0, failed: 0, invalid: 0, skipped: 0, inactive: 0 };
    if (m[2] === 'finished_at') row.finishedAt = new Date(n(value));
    else if ((COUNTERS as readonly string[]).includes(m[2] as string)) row[m[2] as (typeof COUNTERS)[number]] = n(value);
    else continue;
    waves.set(wave, row);
  }
  return { totals: { ...totals, byProvider }, waves: [...waves.values()].sort((a, b) => a.wave - b.wave) };
}

/**
 * Write-behind: counters live in Redis (every send updates them atomically) and are copied to PostgreSQL every
 * STATS_FLUSH_MS (a BullMQ job scheduler, so one worker does it at a time), and at once when a campaign ends. The
 * copy is of absolute values: flushing twice, or from two workers, is harmless. PostgreSQL is what survives a Redis
 * loss and what reports read; the API reads the live numbers from Redis.
 */
@Injectable()
export class StatsFlusher {
  private readonly logger = new Logger('StatsFlusher');

  constructor(
    private readonly store: DispatchStore,
    private readonly repo: DispatchRepository,
  ) {}

  /** Flushes the campaigns whose counters changed, and every running or paused one. Returns how many. */
  async flushChanged(): Promise<number> {
    const ids = new Set([...(await this.store.takeDirty(500)), ...(await this.repo.liveCampaigns())]);
    for (const id of ids) await this.flush(id);
    return ids.size;
  }

  async flush(campaignId: string): Promise<void> {
    const hash = await this.store.stats(campaignId);
    // No `targeted`: nothing was planned, or Redis lost the hash and something re-created part of it (an open, an
    // error-window reset). Copying that would overwrite PostgreSQL's counters with zeros.
    if (hash.targeted === undefined) return;
    const { totals, waves } = countersFromHash(hash);
    try {
      await this.repo.flushStats(campaignId, totals, waves);
    } catch (err) {
      await this.store.markDirty(campaignId);
      throw err;
    }
    this.logger.debug?.(`campaign ${campaignId}: counters flushed (${totals.sent} sent)`);
  }
}
