import { Inject, Injectable, Logger } from '@nestjs/common';
import { CampaignRepository, DispatchRepository } from '@tidegate/database';
import { planJobId } from '@tidegate/domain';
import { DispatchStore } from '@tidegate/redis';
import { readContent } from '../campaigns/campaign-content';
import { CampaignLifecycle } from '../campaigns/lifecycle/campaign-lifecycle';
import { Resender } from '../campaigns/lifecycle/resender';
import { DispatchQueues } from '../queues/dispatch-queues';
import { DISPATCH_NOW, DISPATCH_OPTIONS, type DispatchOptions, type Now } from './dispatch-options';

/** Re-drives in a row without progress after which the campaign fails (re-driving does not help it). */
export const MAX_REDRIVES = 5;

export type RedriveOutcome =
  | { kind: 'redriven'; requeued: number; waves: number; planner: 'queued' | 'retried' | 'present' | 'none' }
  | { kind: 'failed'; why: string }
  | { kind: 'paused'; why: string }
  | { kind: 'skipped'; why: string };

/**
 * The watchdog of running campaigns: one that has made no progress for DISPATCH_REDRIVE_MS (no wave counted, no
 * outcome recorded) and has no job waiting, delayed or active in the plan and send queues is stuck: its jobs used up
 * their attempts during an outage (PostgreSQL unreachable for minutes), or Redis lost them. It is re-driven from its
 * PostgreSQL checkpoints: each materialised wave is listed again and its recipients without an outcome in the ledger
 * go out as new batches (`….d<generation>`), and the next wave's planner is queued again (or retried, if it failed).
 * The ledger keeps this from sending anything twice. Every re-drive is on the campaign's timeline; after MAX_REDRIVES
 * in a row without progress the campaign fails with the reason. If Redis lost the ledger itself (no counters but
 * waves in PostgreSQL), re-driving would send those waves again: the campaign is paused instead, with the reason.
 */
@Injectable()
export class Redriver {
  private readonly logger = new Logger('Redriver');

  constructor(
    private readonly repo: DispatchRepository,
    private readonly campaigns: CampaignRepository,
    private readonly lifecycle: CampaignLifecycle,
    private readonly store: DispatchStore,
    private readonly queues: DispatchQueues,
    private readonly resender: Resender,
    @Inject(DISPATCH_OPTIONS) private readonly options: DispatchOptions,
    @Inject(DISPATCH_NOW) private readonly now: Now,
  ) {}

  /** Re-drives every running campaign that is stuck; returns how many were. */
  async check(): Promise<number> {
    const now = this.now();
    const stalled: string[] = [];
    for (const { id, updatedAt } of await this.repo.runningCampaigns()) {
      const lastSign = Math.max(updatedAt.getTime(), (await this.store.progressAt(id)) ?? 0, (await this.store.redrivenAt(id)) ?? 0);
      if (now - lastSign >= this.options.redriveAfterMs) stalled.push(id);
    }
    if (stalled.length === 0) return 0;
    const queued = await this.queues.campaignsWithJobs();
    let count = 0;
    for (const id of stalled) {
      if (queued.has(id)) continue;
      const outcome = await this.redrive(id);
      this.logger.warn({ msg: `campaign ${id} had no progress and no job: ${outcome.kind}`, campaignId: id, outcome });
      count++;
    }
    return count;
  }

  /** Re-drives one campaign from its checkpoints (see the class). */
  async redrive(campaignId: string): Promise<RedriveOutcome> {
    const campaign = await this.campaigns.findById(campaignId);
    if (!campaign || campaign.status !== 'running') return { kind: 'skipped', why: 'not running' };
    const stalledFor = Math.round(
      (this.now() - Math.max(campaign.updatedAt.getTime(), (await this.store.progressAt(campaignId)) ?? 0)) / 1000,
    );
    const attempts = await this.store.markRedriven(campaignId, this.now());
    if (attempts === null) return { kind: 'skipped', why: 'another worker is re-driving it' };
    if (attempts > MAX_REDRIVES) {
      const why = `failed: re-driven ${MAX_REDRIVES} times without progress (no wave counted, no outcome recorded for ${stalledFor} s)`;
      await this.lifecycle.fail(campaignId, 'watchdog', { reason: why, figures: { redrives: MAX_REDRIVES, stalled_seconds: stalledFor } });
      return { kind: 'failed', why };
    }
    const waves = await this.repo.waves(campaignId);
    const summary = await this.store.summary(campaignId);
    if (waves.length > 0 && summary.targeted === 0 && waves.some((w) => w.size > 0)) {
      const why = `paused automatically: Redis has lost this campaign's ledger (${waves.length} waves were sent): re-driving would send them again. See docs/operations.md, "Redis lost its data"`;
      await this.lifecycle.autoPause(campaignId, 'watchdog', { reason: why, figures: { waves: waves.length } });
      return { kind: 'paused', why };
    }
    const content = readContent(campaign);
    const requeued = await this.resender.requeue(campaignId, content, 'd', (_wave, ids) => this.store.unsettled(campaignId, ids));
    const last = waves.at(-1);
    let planner: Extract<RedriveOutcome, { kind: 'redriven' }>['planner'] = 'none';
    const next = last ? (last.last ? null : last.wave + 1) : 1;
    if (next !== null) {
      planner = await this.queues.addOrRetry('plan-wave', { campaignId, wave: next, dueAt: this.now() }, planJobId(campaignId, next));
    }
    await this.lifecycle.note(campaignId, 'redriven', 'watchdog', {
      reason: `no progress and no job for ${stalledFor} s: re-driven from its checkpoints (${requeued} recipients without an outcome queued again, next wave's planner ${planner})`,
      figures: { stalled_seconds: stalledFor, requeued, waves: waves.length, planner, attempt: attempts },
    });
    await this.lifecycle.completeIfDone(campaignId, await this.store.summary(campaignId));
    return { kind: 'redriven', requeued, waves: waves.length, planner };
  }
}
