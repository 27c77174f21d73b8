import { Injectable, Logger } from '@nestjs/common';
import { CampaignRepository, DispatchRepository } from '@tidegate/database';
import { batchJobId } from '@tidegate/domain';
import { DispatchStore, partitionBatches } from '@tidegate/redis';
import { readContent, type CampaignContent } from '../campaign-content';
import { DispatchQueues } from '../../queues/dispatch-queues';
import { WaveRecipients, countPlatforms } from './wave-recipients';

/** `transient`: recipients that failed for a transient cause (on resume); `failed`: every failed recipient (the route). */
export type ResendScope = 'transient' | 'failed';

/** Devices checked against the ledger per round trip while a wave is listed again. */
const LIST_PAGE = 5000;

/**
 * Sends failed recipients again: each materialised wave is listed again from its checkpoint, the recipients in scope
 * are taken out of the ledger (one script per page: their `failed` outcome is undone in the counters, so the
 * campaign is not done until they have a new one), and they go out as new batches of that wave
 * (`<campaign>.w<wave>.b<batch>.x<generation>`: a new generation per resend, never an id BullMQ still holds).
 */
@Injectable()
export class Resender {
  private readonly logger = new Logger('Resender');

  constructor(
    private readonly campaigns: CampaignRepository,
    private readonly repo: DispatchRepository,
    private readonly recipients: WaveRecipients,
    private readonly store: DispatchStore,
    private readonly queues: DispatchQueues,
  ) {}

  /** Queues the campaign's failed recipients in `scope` again; returns how many. */
  async resend(campaignId: string, scope: ResendScope): Promise<number> {
    if (!(await this.store.hasFailures(campaignId, scope))) return 0;
    const campaign = await this.campaigns.findById(campaignId);
    if (!campaign) return 0;
    const total = await this.requeue(campaignId, readContent(campaign), 'x', (wave, ids) =>
      this.store.reopen(campaignId, wave, scope, ids),
    );
    if (total > 0) this.logger.log({ msg: `campaign ${campaignId}: ${total} ${scope} recipients queued again`, campaignId });
    return total;
  }

  /**
   * Lists every materialised wave of the campaign again from its checkpoint, keeps the recipients `select` returns
   * (given the wave and a page of its device ids), and queues them as new batches of that wave, ids
   * `<campaign>.w<wave>.b<batch>.<tag><generation>` (a new generation each time). Returns how many were queued. The
   * resend (tag x: failed recipients taken out of the ledger) and the watchdog's re-drive (tag d: recipients without an
   * outcome) both go through here.
   */
  async requeue(
    campaignId: string,
    content: CampaignContent,
    tag: string,
    select: (wave: number, deviceIds: string[]) => Promise<readonly string[]>,
  ): Promise<number> {
    const generation = await this.store.nextResendGeneration(campaignId);
    // Each device goes back to its own partition (its ledger is there), one partition per batch.
    const partitions = await this.store.layoutOf(campaignId);
    let total = 0;
    for (const wave of await this.repo.waves(campaignId)) {
      let after = wave.afterId;
      let batch = 0;
      while (after < wave.lastId) {
        const page = await this.recipients.page(content.audience, after, LIST_PAGE, wave.lastId);
        after = page.recipients.length > 0 ? page.lastId : wave.lastId;
        const chosen = new Set(
          await select(
            wave.wave,
            page.recipients.map((r) => r.id),
          ),
        );
        const jobs = partitionBatches(
          page.recipients.filter((r) => chosen.has(r.id)),
          content.wavePlan.batchSize,
          partitions,
          (r) => r.id,
        ).map(({ partition, items }) => ({
          name: 'send-batch' as const,
          data: {
            campaignId,
            wave: wave.wave,
            batch: ++batch,
            deviceIds: items.map((r) => r.id),
            attempt: 0,
            platforms: countPlatforms(items),
            partition,
          },
          opts: { jobId: `${batchJobId(campaignId, wave.wave, batch)}.${tag}${generation}` },
        }));
        await this.queues.addBatches(jobs);
        total += chosen.size;
      }
    }
    return total;
  }
}
