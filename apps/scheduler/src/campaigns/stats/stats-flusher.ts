import { Injectable, Logger } from '@nestjs/common';
import { DispatchRepository } from '@tidegate/database';
import { DispatchStore, FunnelStore, parseCampaignStats, parseFunnel } from '@tidegate/redis';

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
    private readonly funnel: FunnelStore,
  ) {}

  /** Flushes the campaigns whose counters changed, and every running or paused one. Returns how many. */
  async flushChanged(): Promise<number> {
    const ids = new Set([...(await this.store.takeDirty(500)), ...(await this.repo.liveCampaigns())]);
    for (const id of ids) await this.flush(id);
    return ids.size;
  }

  async flush(campaignId: string): Promise<void> {
    await this.flushFunnel(campaignId);
    // Null when the hash holds no counters: nothing was planned, or Redis lost the hash and something re-created part
    // of it (an open, an error-window reset). Copying that would overwrite PostgreSQL's counters with zeros.
    const snapshot = parseCampaignStats(await this.store.stats(campaignId));
    if (!snapshot) return;
    const totals = { ...snapshot, byProvider: snapshot.by_provider, waves: snapshot.waves_planned };
    const waves = snapshot.waves.map((w) => ({ ...w, finishedAt: w.finished_at }));
    try {
      await this.repo.flushStats(campaignId, totals, waves);
    } catch (err) {
      await this.store.markDirty(campaignId);
      throw err;
    }
    this.logger.debug?.(`campaign ${campaignId}: counters flushed (${totals.sent} sent)`);
  }

  /** The funnel (wave tickets), when Redis holds one: an empty hash (none yet, or lost) never overwrites PostgreSQL. */
  private async flushFunnel(campaignId: string): Promise<void> {
    const hash = await this.funnel.raw(campaignId);
    if (Object.keys(hash).length === 0) return;
    try {
      await this.repo.flushFunnel(campaignId, parseFunnel(hash));
    } catch (err) {
      await this.store.markDirty(campaignId);
      throw err;
    }
  }
}
