import { BadRequestException, ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { CampaignRepository, campaignScope, type Campaign, type CampaignStatus } from '@tidegate/database';
import { validateWavePlan, type RateLimits } from '@tidegate/domain';
import { readContent, type CampaignProblem, type StoredWavePlan } from '../campaigns/campaign-content';
import type { CampaignView } from '../campaigns/campaigns.dto';
import { invalid, toCampaignView } from '../campaigns/campaigns.service';
import type { Actor } from './dispatch-settings.service';
import type { CampaignDispatchDto } from './tuning.dto';

/** A campaign whose rate and wave size may change: it has not finished (a draft is changed with PATCH /admin/campaigns/:id). */
export const TUNABLE_STATUSES: readonly CampaignStatus[] = ['scheduled', 'running', 'paused'];

/** What a campaign-scope change log entry holds, before and after. */
export interface CampaignDispatchValue {
  waveSize: number;
  campaignPerMinute: number | null;
}

/** The rate the sender applies to the campaign: the stricter of its `campaign` and `global` limits. */
const campaignRate = (limits: RateLimits | null): number | null => {
  const rates = [limits?.campaignPerMinute, limits?.globalPerMinute].filter((r): r is number => typeof r === 'number');
  return rates.length > 0 ? Math.min(...rates) : null;
};

export const dispatchValue = (plan: StoredWavePlan): CampaignDispatchValue => ({
  waveSize: plan.waveSize,
  campaignPerMinute: campaignRate(plan.rateLimits),
});

/**
 * The campaign's own rate replaced (null removes it); its per-provider limits are kept. The campaign's `global` limit
 * goes too: the sender applies the stricter of `campaign` and `global` as the campaign's rate, so keeping it would
 * leave a raised rate without effect. No limit left: null.
 */
function withCampaignRate(limits: RateLimits | null, rate: number | null): RateLimits | null {
  const { campaignPerMinute: _old, globalPerMinute: _global, ...rest } = limits ?? {};
  const next: RateLimits = rate === null ? rest : { ...rest, campaignPerMinute: rate };
  return Object.keys(next).length === 0 ? null : next;
}

const FIELDS: Record<string, string> = { waveSize: 'wave_size', 'rateLimits.campaignPerMinute': 'rate_per_minute' };

/**
 * An SRE's change of one campaign's rate or wave size while it is scheduled, running or paused. Written as a
 * compare-and-set (the status, and the plan as read) with a `campaign:<id>` change-log entry in the same transaction.
 * The sending workers re-read the campaign for each wave and its rate about once a second: no restart.
 */
@Injectable()
export class CampaignDispatchService {
  private readonly logger = new Logger('CampaignDispatch');

  constructor(private readonly campaigns: CampaignRepository) {}

  async update(id: string, dto: CampaignDispatchDto, actor: Actor): Promise<CampaignView> {
    if (dto.rate_per_minute === undefined && dto.wave_size === undefined) {
      throw new BadRequestException(['the body must set at least one of: rate_per_minute, wave_size']);
    }
    const current = await this.campaigns.findById(id);
    if (!current) throw new NotFoundException(`no campaign with id ${id}`);
    this.assertTunable(current);
    const plan = readContent(current).wavePlan;
    const next: StoredWavePlan = {
      ...plan,
      waveSize: dto.wave_size ?? plan.waveSize,
      rateLimits: dto.rate_per_minute === undefined ? plan.rateLimits : withCampaignRate(plan.rateLimits, dto.rate_per_minute),
    };
    const problems = this.check(next);
    if (problems.length > 0) throw invalid(problems);
    const before = dispatchValue(plan);
    const after = dispatchValue(next);
    if (before.waveSize === after.waveSize && before.campaignPerMinute === after.campaignPerMinute) return toCampaignView(current);

    const result = await this.campaigns.updateWavePlan(id, TUNABLE_STATUSES, next as unknown as object, {
      expected: current.wavePlan,
      change: { scope: campaignScope(id), actor, old: { ...before }, new: { ...after }, reason: dto.reason },
    });
    if (!result.ok) {
      if (!result.campaign) throw new NotFoundException(`no campaign with id ${id}`);
      this.assertTunable(result.campaign);
      throw new ConflictException(`campaign ${id} changed while it was being updated: try again`);
    }
    this.logger.log({
      msg:
        `campaign ${id} dispatch changed by ${actor.keyName}: wave_size ${before.waveSize} → ${after.waveSize}, ` +
        `rate_per_minute ${before.campaignPerMinute} → ${after.campaignPerMinute}`,
      event: 'campaign.dispatch.change',
      campaignId: id,
      actor: actor.keyName,
      actorKeyId: actor.keyId,
    });
    return toCampaignView(result.campaign);
  }

  /** The domain's wave-plan rules on the result (wave size a whole number ≥ the batch size, a rate above 0). */
  private check(plan: StoredWavePlan): CampaignProblem[] {
    return validateWavePlan(
      {
        audienceSize: 0,
        batchSize: plan.batchSize,
        waveSize: plan.waveSize,
        intervalSeconds: plan.intervalSeconds,
        rateLimits: plan.rateLimits,
      },
      { now: new Date() },
    )
      .filter((e) => FIELDS[e.field] !== undefined)
      .map((e) => ({ field: FIELDS[e.field]!, code: e.code, message: e.message }));
  }

  private assertTunable(campaign: Campaign): void {
    if (!TUNABLE_STATUSES.includes(campaign.status)) {
      throw new ConflictException(
        `campaign ${campaign.id} is ${campaign.status}: its rate and wave size can be changed only while scheduled, running or paused` +
          (campaign.status === 'draft' ? ' (change a draft with PATCH /admin/campaigns/:id)' : ''),
      );
    }
  }
}
