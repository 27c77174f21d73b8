import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DispatchRepository } from '@tidegate/database';
import { CampaignLifecycle } from '../campaigns/lifecycle/campaign-lifecycle';
import { DISPATCH_OPTIONS, type DispatchOptions } from './dispatch-options';
import { Redriver } from './redriver';

/** A running campaign with no wave this long after it started gets its wave-1 planner queued again. */
export const RESTART_GRACE_MS = 10_000;

/**
 * The workers' clock: every DISPATCH_TICK_MS each worker
 * - starts scheduled campaigns whose start_at has passed (the lifecycle's clock_start, a compare-and-set: with
 *   several workers, one wins and queues wave 1). Polling PostgreSQL rather than a delayed job keeps a re-scheduled
 *   or cancelled campaign right with no job to chase;
 * - re-queues wave 1 of a running campaign that has none (the process that started it died between the status
 *   change and the queueing);
 * - re-drives running campaigns that are stuck (Redriver: no progress and no job).
 */
@Injectable()
export class DispatchClock implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('DispatchClock');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly repo: DispatchRepository,
    private readonly lifecycle: CampaignLifecycle,
    private readonly redriver: Redriver,
    @Inject(DISPATCH_OPTIONS) private readonly options: DispatchOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn(`the dispatch clock's tick failed: ${(err as Error).message}`))
        .finally(() => (this.running = null));
    }, this.options.tickMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Starts every due campaign and re-drives stuck ones; returns how many this process started. */
  async tick(now = new Date()): Promise<number> {
    let started = 0;
    for (const id of await this.repo.dueCampaigns(now)) {
      if (await this.lifecycle.clockStart(id, now)) started++;
    }
    for (const id of await this.repo.startedWithoutWaves(now, RESTART_GRACE_MS)) await this.lifecycle.queueFirstWave(id, now.getTime());
    await this.redriver.check();
    return started;
  }
}
