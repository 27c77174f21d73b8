import { ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { QueueName } from '@tidegate/contracts';
import { CampaignRepository, type Campaign, type CampaignEventInput, type Prisma } from '@tidegate/database';
import { decide, planJobId, type ActorKind, type CampaignTransition } from '@tidegate/domain';
import { DispatchStore, isCampaignDone, type RecordSummary } from '@tidegate/redis';
import { readContent } from '../campaign-content';
import { StatsFlusher } from '../stats/stats-flusher';
import { DispatchQueues } from '../../queues/dispatch-queues';
import { DispatchContext } from './dispatch-context';
import { Resender, type ResendScope } from './resender';

/** How many times a conditional system transition reads a campaign that keeps changing under it (tryApply). */
const STILL_DUE_READS = 3;

/** Who performs a transition: an admin API key, or a part of the system (the clock, a worker, a guard, pacing). */
export type Actor = { kind: 'api'; keyId: string; keyName: string } | { kind: 'system'; name: string };

export const apiActor = (caller: { keyId: string; keyName: string }): Actor => ({
  kind: 'api',
  keyId: caller.keyId,
  keyName: caller.keyName,
});
export const systemActor = (name: string): Actor => ({ kind: 'system', name });

const actorName = (a: Actor) => (a.kind === 'api' ? a.keyName : a.name);

/** Why a transition happened, in words, and the figures behind it (kept on the timeline). */
export interface Because {
  reason: string;
  figures?: Prisma.InputJsonValue;
}

/**
 * Every status change of a campaign, in one place: schedule, start, the clock's start, pause, the guards' pause,
 * resume, resend, cancel, completion and failure. Each one is decided by libs/domain's lifecycle (`decide`: from
 * which statuses, by whom), applied as a compare-and-set on the status it was decided from together with its
 * timeline entry (one PostgreSQL transaction), logged, and followed by its queue work (wave 1's planner, waking
 * parked jobs, sending failed recipients again, the last stats flush). Controllers and workers only call it.
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
    private readonly resender: Resender,
  ) {}

  /**
   * draft → scheduled. `schedule` (already checked by the caller: start in the future) is written in the same
   * compare-and-set when the request carried one.
   */
  async schedule(id: string, actor: Actor, startAt: string, reason?: string, schedule?: Prisma.InputJsonValue): Promise<Campaign> {
    return this.apply(
      id,
      'schedule',
      actor,
      { reason: reason ?? `scheduled for ${startAt} by ${actorName(actor)}` },
      { extra: schedule ? { schedule } : {} },
    );
  }

  /** draft | scheduled → running now: wave 1's planner is queued at once (it waits for the send window). */
  async start(id: string, actor: Actor, reason?: string): Promise<Campaign> {
    const campaign = await this.apply(id, 'start', actor, { reason: reason ?? `started by ${actorName(actor)}` });
    await this.queueFirstWave(id, Date.now());
    return campaign;
  }

  /** scheduled → running at its start time (the workers' clock; with several workers one wins). Null if another did. */
  async clockStart(id: string, now: Date): Promise<Campaign | null> {
    const campaign = await this.tryApply(id, 'clock_start', systemActor('clock'), { reason: 'started at its scheduled time' });
    if (!campaign) return null;
    const startAt = readContent(campaign).schedule.startAt;
    await this.queueFirstWave(id, startAt ? new Date(startAt).getTime() : now.getTime());
    return campaign;
  }

  /** running → paused by a person. Batches with a provider finish; the rest park and continue on resume. */
  async pause(id: string, actor: Actor, reason?: string): Promise<Campaign> {
    const campaign = await this.apply(id, 'pause', actor, { reason: reason ?? `paused by ${actorName(actor)}` });
    this.context.forget(id);
    return campaign;
  }

  /**
   * running → paused by a guard (error rate, invalid-token rate) or the watchdog. False when the campaign was no
   * longer running, or (`judgedAt`: the campaign's guard generation its batch read before sending) when a resume has
   * started new windows since: the verdict is about answers from before the resume, and the resumed campaign is not
   * paused by it. The campaign is read, then the generation, then written only if unchanged since the read; a resume
   * moves the generation on before it writes the campaign (see resume), so no order of the two lets an old verdict
   * through.
   */
  async autoPause(id: string, guard: string, because: Because, judgedAt?: number): Promise<boolean> {
    const stillDue = judgedAt === undefined ? undefined : async () => (await this.store.guardGeneration(id)) === judgedAt;
    const campaign = await this.tryApply(id, 'auto_pause', systemActor(guard), because, stillDue);
    this.context.forget(id);
    return campaign !== null;
  }

  /**
   * paused → running: fresh guards' windows (started before the status is written: a batch's verdict reached on the
   * old ones is then never applied to the resumed campaign), recipients that failed for a transient cause sent again,
   * parked jobs woken, and completion if nothing is left.
   */
  async resume(id: string, actor: Actor, reason?: string): Promise<{ campaign: Campaign; resent: number }> {
    const because = { reason: reason ?? `resumed by ${actorName(actor)}` };
    const campaign = await this.apply(id, 'resume', actor, because, { before: () => this.store.newGuardWindows(id) });
    const resent = await this.afterResume(id, 'transient');
    return { campaign, resent };
  }

  /**
   * Sends a campaign's failed recipients again (every final `failed`, not invalid tokens or inactive devices): a
   * completed campaign runs again until they have an outcome; a paused one is resumed.
   */
  async resend(id: string, actor: Actor, reason?: string): Promise<{ campaign: Campaign; resent: number }> {
    if (!(await this.store.hasFailures(id, 'failed'))) {
      // Nothing failed: no change, but the same answers as a resend would give (404, 409) for the wrong campaign.
      const current = await this.campaigns.findById(id);
      if (!current) throw new NotFoundException(`no campaign with id ${id}`);
      const decision = decide(current.status, 'resend', actor.kind);
      if (!decision.ok) throw new ConflictException(`campaign ${id}: ${decision.message}`);
      return { campaign: current, resent: 0 };
    }
    const because = { reason: reason ?? `failed recipients sent again by ${actorName(actor)}` };
    const campaign = await this.apply(id, 'resend', actor, because, { before: () => this.store.newGuardWindows(id) });
    const resent = await this.afterResume(id, 'failed');
    await this.campaigns.recordEvent(
      id,
      { kind: 'resent', actor: actorName(actor), reason: `${resent} failed recipients queued again`, figures: { resent } },
      'running',
    );
    return { campaign, resent };
  }

  /** Any status but the final ones → cancelled: parked jobs are woken so they end now, and the stats flushed. */
  async cancel(id: string, actor: Actor, reason?: string): Promise<Campaign> {
    const campaign = await this.apply(id, 'cancel', actor, {
      reason: reason ? `${reason} (cancelled by ${actorName(actor)})` : `cancelled by ${actorName(actor)}`,
    });
    this.context.forget(id);
    try {
      await this.queues.wakeParked(id);
      await this.flusher.flush(id);
    } catch (err) {
      this.logger.warn(`campaign ${id} cancelled; clean-up failed: ${(err as Error).message}`);
    }
    return campaign;
  }

  /** running → completed when the last wave is planned and every recipient has a final outcome. */
  async completeIfDone(id: string, summary: Pick<RecordSummary, 'settled' | 'targeted' | 'lastWave'>): Promise<boolean> {
    if (!isCampaignDone(summary)) return false;
    const campaign = await this.tryApply(id, 'complete', systemActor('worker'), {
      reason: `completed: all ${summary.targeted} recipients of ${summary.lastWave} waves have an outcome`,
      figures: { targeted: summary.targeted, settled: summary.settled, waves: summary.lastWave },
    });
    if (!campaign) return false;
    this.context.forget(id);
    await this.flusher.flush(id);
    return true;
  }

  /** running | paused → failed (it cannot go on: its audience cannot be read, or re-driving it does not help). */
  async fail(id: string, actor: string, because: Because): Promise<boolean> {
    const campaign = await this.tryApply(id, 'fail', systemActor(actor), because);
    if (!campaign) return false;
    this.context.forget(id);
    await this.queues.wakeParked(id);
    await this.flusher.flush(id);
    return true;
  }

  /** A decision that changes no status (held, released, re-driven…), on the timeline. */
  async note(id: string, kind: string, actor: string, because: Because): Promise<void> {
    await this.campaigns.recordEvent(id, { kind, actor, reason: because.reason, figures: because.figures ?? null });
  }

  private async afterResume(id: string, scope: ResendScope): Promise<number> {
    this.context.forget(id);
    const resent = await this.resender.resend(id, scope);
    await this.queues.wakeParked(id);
    await this.completeIfDone(id, await this.store.summary(id));
    return resent;
  }

  /** Queues wave 1's planner (the campaign was just moved to running). Adding it twice adds one job. */
  async queueFirstWave(id: string, dueAt: number): Promise<void> {
    this.context.forget(id);
    await this.queues.add(
      QueueName.Plan,
      'plan-wave',
      { campaignId: id, wave: 1, dueAt },
      { jobId: planJobId(id, 1), delay: Math.max(0, dueAt - Date.now()) },
    );
  }

  /**
   * Performs a transition decided on the campaign as read now, or throws 404 / 409 with the reason. `extra`: content
   * written with it; `before`: work done once the transition is decided, before it is written (should the write then
   * find the campaign changed, that work stands: it must be harmless for the campaign as it is).
   */
  private async apply(
    id: string,
    transition: CampaignTransition,
    actor: Actor,
    because: Because,
    options: { extra?: Parameters<CampaignRepository['transition']>[4]; before?: () => Promise<void> } = {},
  ): Promise<Campaign> {
    const current = await this.campaigns.findById(id);
    if (!current) throw new NotFoundException(`no campaign with id ${id}`);
    const decision = decide(current.status, transition, actor.kind satisfies ActorKind);
    if (!decision.ok) throw new ConflictException(`campaign ${id}: ${decision.message}`);
    await options.before?.();
    const event = this.event(transition, actor, because);
    const result = await this.campaigns.transition(id, [decision.from], decision.to, event, options.extra);
    if (!result.ok) {
      if (!result.campaign) throw new NotFoundException(`no campaign with id ${id}`);
      throw new ConflictException(`campaign ${id} is ${result.campaign.status} now: it changed while this ${transition} was applied`);
    }
    this.logChange(id, transition, `${decision.from} → ${decision.to}`, actor, because.reason);
    await this.remember(result.campaign);
    return result.campaign;
  }

  /** The status beside the counters in Redis, for the stats route while PostgreSQL is out of reach (best effort). */
  private async remember(campaign: Campaign): Promise<void> {
    await this.store.rememberStatus(campaign.id, campaign.status, campaign.statusReason).catch((err: unknown) => {
      this.logger.warn(`campaign ${campaign.id}: its status was not copied to Redis: ${(err as Error).message}`);
    });
  }

  /**
   * A system transition: performed if the campaign is in a status it starts from; null (nothing written) if not.
   * `stillDue`, asked after the campaign is read: whether the transition still applies; if given, the campaign is
   * written only if unchanged since that read, and read again (at most STILL_DUE_READS times) if it changed.
   */
  private async tryApply(
    id: string,
    transition: CampaignTransition,
    actor: Actor,
    because: Because,
    stillDue?: () => Promise<boolean>,
  ): Promise<Campaign | null> {
    for (let read = 1; ; read++) {
      const current = await this.campaigns.findById(id);
      if (!current) return null;
      const decision = decide(current.status, transition, actor.kind);
      if (!decision.ok) return null;
      if (stillDue && !(await stillDue())) {
        this.logger.log({
          msg: `campaign ${id}: ${transition} by ${actorName(actor)} not applied (resumed since): ${because.reason}`,
          campaignId: id,
        });
        return null;
      }
      const event = this.event(transition, actor, because);
      const result = await this.campaigns.transition(id, [decision.from], decision.to, event, {}, stillDue && current.updatedAt);
      if (result.ok) {
        this.logChange(id, transition, `${decision.from} → ${decision.to}`, actor, because.reason);
        await this.remember(result.campaign);
        return result.campaign;
      }
      // Without stillDue the status did not match: nothing to do. With it the campaign was also written meanwhile (a
      // resume, or an SRE's settings): decided again on the row as it is now.
      if (!stillDue || read >= STILL_DUE_READS) {
        if (stillDue) this.logger.warn({ msg: `campaign ${id}: ${transition} not applied: the campaign kept changing`, campaignId: id });
        return null;
      }
    }
  }

  private event(transition: CampaignTransition, actor: Actor, because: Because): CampaignEventInput {
    return {
      kind: transition,
      actor: actorName(actor),
      actorKeyId: actor.kind === 'api' ? actor.keyId : null,
      reason: because.reason,
      figures: because.figures ?? null,
    };
  }

  /** One structured log line per change: which campaign, what happened, who, why. */
  private logChange(id: string, transition: CampaignTransition, action: string, actor: Actor, reason: string): void {
    const line = {
      msg: `campaign ${id} ${action} (${transition}) by ${actorName(actor)}: ${reason}`,
      event: 'campaign.change',
      transition,
      action,
      campaignId: id,
      actor: actorName(actor),
      ...(actor.kind === 'api' && { actorKeyId: actor.keyId }),
    };
    if (transition === 'auto_pause' || transition === 'fail') this.logger.warn(line);
    else this.logger.log(line);
  }
}
