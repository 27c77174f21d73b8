import { Injectable, Logger } from '@nestjs/common';
import { QueueName } from '@tidegate/contracts';
import { CampaignRepository } from '@tidegate/database';
import { errorRateReason, planJobId, shouldAutoPause, type DispatchSettings } from '@tidegate/domain';
import { DispatchStore, isCampaignDone, type RecordSummary } from '@tidegate/redis';
import { DispatchContext } from './dispatch-context';
import { DispatchQueues } from './dispatch-queues';
import { StatsFlusher } from './stats-flusher';

/**
 * The status changes the dispatch code makes itself, and the queue work of those the API makes: start (wave 1's
 * planner), resume (wake what was parked), completion (every recipient has an outcome) and the error-rate pause.
 * Every change is a compare-and-set on the status (libs/database CampaignRepository.transition), so a worker and an
 * admin request cannot both win.
 */
@Injectable()
export class CampaignLifecycle {
  private readonly logger = new Logger('CampaignLifecycle');

  constructor(
    readonly store: DispatchStore,
    private readonly campaigns: CampaignRepository,
    private readonly context: DispatchContext,
    private readonly queues: DispatchQueues,
    private readonly flusher: StatsFlusher,
  ) {}

  /** Queues wave 1's planner (the campaign was just moved to running). Adding it twice adds one job. */
  async started(campaignId: string, dueAt: number): Promise<void> {
    this.context.forget(campaignId);
    await this.queues.add(
      QueueName.Plan,
      'plan-wave',
      { campaignId, wave: 1, dueAt },
      { jobId: planJobId(campaignId, 1), delay: Math.max(0, dueAt - Date.now()) },
    );
  }

  /** After paused → running: a fresh error-rate window, the parked jobs woken, and completion if nothing is left. */
  async resumed(campaignId: string): Promise<number> {
    this.context.forget(campaignId);
    await this.store.resetErrorWindow(campaignId);
    const woken = await this.queues.wakeParked(campaignId);
    await this.completeIfDone(campaignId, await this.store.summary(campaignId));
    return woken;
  }

  /** After a cancel: parked jobs are woken so they end now (they see the status and drop) instead of in a minute. */
  async stopped(campaignId: string): Promise<void> {
    this.context.forget(campaignId);
    await this.queues.wakeParked(campaignId);
    await this.flusher.flush(campaignId);
  }

  /** running → completed when the last wave is planned and every recipient has a final outcome. */
  async completeIfDone(campaignId: string, summary: Pick<RecordSummary, 'settled' | 'targeted' | 'lastWave'>): Promise<boolean> {
    if (!isCampaignDone(summary)) return false;
    const result = await this.campaigns.transition(
      campaignId,
      ['running'],
      'completed',
      `completed: all ${summary.targeted} recipients of ${summary.lastWave} waves have an outcome`,
    );
    if (!result.ok) return false;
    this.context.forget(campaignId);
    this.logger.log({
      msg: `campaign ${campaignId} completed (${summary.targeted} recipients)`,
      event: 'campaign.change',
      action: 'running → completed',
      campaignId,
      actor: 'worker',
    });
    await this.flusher.flush(campaignId);
    return true;
  }

  /** Pauses a running campaign whose recent failure rate is above the SREs' threshold, the reason recorded. */
  async pauseIfFailing(campaignId: string, summary: RecordSummary, settings: DispatchSettings): Promise<boolean> {
    if (!shouldAutoPause(summary.recentTotal, summary.recentFailed, settings)) return false;
    const reason = errorRateReason(summary.recentTotal, summary.recentFailed, settings.errorRateThreshold);
    const result = await this.campaigns.transition(campaignId, ['running'], 'paused', reason);
    if (!result.ok) return false;
    this.context.forget(campaignId);
    this.logger.warn({
      msg: `campaign ${campaignId} ${reason}`,
      event: 'campaign.change',
      action: 'running → paused',
      campaignId,
      actor: 'error-rate',
    });
    return true;
  }
}
