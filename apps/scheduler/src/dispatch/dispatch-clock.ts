import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CampaignRepository, DispatchRepository } from '@tidegate/database';
import { readContent } from '../campaigns/campaign-content';
import { CampaignLifecycle } from './campaign-lifecycle';
import { DISPATCH_OPTIONS, type DispatchOptions } from './dispatch-workers';

/** A running campaign with no wave this long after it started gets its wave-1 planner queued again. */
export const RESTART_GRACE_MS = 10_000;

/**
 * Starts scheduled campaigns when their time comes: every DISPATCH_TICK_MS each worker looks for scheduled
 * campaigns whose start_at has passed and moves them to running (compare-and-set: with several workers, one wins
 * and queues wave 1). Polling PostgreSQL rather than a delayed job keeps a re-scheduled or cancelled campaign
 * right with no job to chase. The same tick re-queues wave 1 of a running campaign that has none (the process
 * that started it died between the status change and the queueing).
 */
@Injectable()
export class DispatchClock implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('DispatchClock');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly repo: DispatchRepository,
    private readonly campaigns: CampaignRepository,
    private readonly lifecycle: CampaignLifecycle,
    @Inject(DISPATCH_OPTIONS) private readonly options: DispatchOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn(`starting due campaigns failed: ${(err as Error).message}`))
        .finally(() => (this.running = null));
    }, this.options.tickMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Starts every due campaign; returns how many this process started. */
  async tick(now = new Date()): Promise<number> {
    let started = 0;
    for (const id of await this.repo.dueCampaigns(now)) {
      const result = await this.campaigns.transition(id, ['scheduled'], 'running', 'started at its scheduled time');
      if (!result.ok) continue;
      const startAt = readContent(result.campaign).schedule.startAt;
      await this.lifecycle.started(id, startAt ? new Date(startAt).getTime() : now.getTime());
      this.logger.log({
        msg: `campaign ${id} started at its scheduled time`,
        event: 'campaign.change',
        action: 'scheduled → running',
        campaignId: id,
        actor: 'scheduler',
      });
      started++;
    }
    for (const id of await this.repo.startedWithoutWaves(now, RESTART_GRACE_MS)) await this.lifecycle.started(id, now.getTime());
    return started;
  }
}
