import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { RoomSnapshotStore } from '@tidegate/admission';
import { DeviceRepository, DispatchRepository } from '@tidegate/database';
import {
  campaignLimits,
  decidePacing,
  inflowSteps,
  UNLIMITED_SEND_PER_SECOND,
  type DispatchSettings,
  type OpenModel,
  type PacingDecision,
  type Send,
} from '@tidegate/domain';
import {
  CampaignActivityStore,
  CampaignPaceStore,
  DispatchStore,
  PACE_TTL_MS,
  REDIS,
  RedisKeys,
  RoomConfigStore,
  type RedisClient,
  type StoredPace,
} from '@tidegate/redis';
import { type CampaignContent } from '../campaigns/campaign-content';
import { CampaignLifecycle } from '../campaigns/lifecycle/campaign-lifecycle';
import { DispatchContext } from '../campaigns/lifecycle/dispatch-context';
import { DISPATCH_NOW, DISPATCH_OPTIONS, type DispatchOptions, type Now } from '../dispatch/dispatch-options';

/** How long a segment's size estimate is reused. */
const AUDIENCE_CACHE_MS = 60_000;

export type PaceOutcome = { kind: 'paced'; pace: StoredPace } | { kind: 'skipped'; why: string };

/**
 * Runs the pacing controller (libs/domain `decidePacing`) for every running campaign that feeds a room with pacing on,
 * every PACING_TICK_MS: gathers the room's live state (the gateway's snapshot: people waiting, admitted, the origin's
 * health; its settings: capacity, admission rate, session), what the campaign sent in the last minutes (the future
 * inflow), the open model and the campaign's wait budget; decides; and publishes the decision in Redis, where the
 * senders (batches leave at the decided rate, or wait) and the planner (waves wait while held) read it. One worker
 * decides a campaign each tick (a claim); every change of state goes on the campaign's timeline with its figures, and
 * is shown live as the campaign's activity while it paces or holds.
 */
@Injectable()
export class CampaignPacer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CampaignPacer');
  private readonly paces: CampaignPaceStore;
  private readonly activity: CampaignActivityStore;
  private readonly rooms: RoomConfigStore;
  private readonly snapshots: RoomSnapshotStore;
  private readonly audiences = new Map<string, { at: number; size: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly repo: DispatchRepository,
    private readonly devices: DeviceRepository,
    private readonly context: DispatchContext,
    private readonly store: DispatchStore,
    private readonly lifecycle: CampaignLifecycle,
    @Inject(REDIS) redis: RedisClient,
    keys: RedisKeys,
    @Inject(DISPATCH_OPTIONS) private readonly options: DispatchOptions,
    @Inject(DISPATCH_NOW) private readonly now: Now,
  ) {
    this.paces = new CampaignPaceStore(redis, keys);
    this.activity = new CampaignActivityStore(redis, keys);
    this.rooms = new RoomConfigStore(redis, keys);
    this.snapshots = new RoomSnapshotStore(redis, keys, () => this.now());
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn(`pacing failed: ${(err as Error).message}`))
        .finally(() => (this.running = null));
    }, this.options.pacingTickMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Paces every running campaign (those another worker claimed this tick are left to it). */
  async tick(): Promise<number> {
    let paced = 0;
    for (const { id } of await this.repo.runningCampaigns()) {
      if (!(await this.paces.claim(id, Math.max(1, this.options.pacingTickMs - 50)))) continue;
      const outcome = await this.pace(id);
      if (outcome.kind === 'paced') paced++;
    }
    return paced;
  }

  /** Decides one campaign's pace now and publishes it (see the class). */
  async pace(campaignId: string): Promise<PaceOutcome> {
    const snapshot = await this.context.campaign(campaignId);
    if (!snapshot) return { kind: 'skipped', why: 'no such campaign' };
    const { campaign, content } = snapshot;
    if (campaign.status !== 'running') return { kind: 'skipped', why: `the campaign is ${campaign.status}` };
    if (!campaign.roomId) return { kind: 'skipped', why: 'no room' };
    if (!content.wavePlan.pacing) return { kind: 'skipped', why: 'pacing is off' };
    const room = await this.rooms.read(campaign.roomId);
    if (!room) return { kind: 'skipped', why: `room ${campaign.roomId} has no settings in Redis` };
    const settings = await this.context.settings();
    const openModel = openModelOf(settings);
    const now = this.now();
    const nowSecond = Math.floor(now / 1000);
    const horizon = inflowSteps(openModel, 1);
    const sent: Send[] = (await this.store.sendsSince(campaignId, nowSecond - horizon)).map((s) => ({
      atSeconds: s.second - nowSecond,
      count: s.count,
    }));
    const live = await this.snapshots.read(campaign.roomId);
    const state = live?.fresh ? live.snapshot : null;
    const summary = await this.store.summary(campaignId);
    const previous = await this.paces.read(campaignId);
    const decision = decidePacing({
      room: {
        waiting: state?.waiting ?? 0,
        active: state?.active ?? 0,
        capacity: {
          totalActiveUsers: room.totalActiveUsers,
          newUsersPerMinute: room.newUsersPerMinute,
          sessionSeconds: room.sessionDurationSeconds,
        },
        healthy: state ? originHealthy(state) : true,
      },
      sent,
      openModel,
      budgetSeconds: content.wavePlan.maxWaitSeconds ?? room.maxWaitSeconds,
      maxSendPerSecond: maxSendPerSecond(content, settings),
      remaining: Math.max(
        0,
        (summary.lastWave === null ? Math.max(await this.audienceSize(campaignId, content), summary.targeted) : summary.targeted) -
          summary.settled,
      ),
      previous: previous && toDecision(previous),
    });
    const pace: StoredPace = { ...decision, figures: { ...decision.figures, room_id: campaign.roomId }, at: now };
    await this.paces.write(campaignId, pace, PACE_TTL_MS);
    await this.publish(campaignId, previous, pace, now);
    return { kind: 'paced', pace };
  }

  /** The audience's size (the list's length, or the segment's estimate), cached for a minute per campaign. */
  private async audienceSize(campaignId: string, content: CampaignContent): Promise<number> {
    const audience = content.audience;
    if ('deviceIds' in audience) return audience.deviceIds.length;
    const cached = this.audiences.get(campaignId);
    const now = Date.now();
    if (cached && now - cached.at < AUDIENCE_CACHE_MS) return cached.size;
    const size = (await this.devices.estimate(audience.segment)).estimate;
    this.audiences.set(campaignId, { at: now, size });
    if (this.audiences.size > 10_000) this.audiences.delete(this.audiences.keys().next().value as string);
    return size;
  }

  /** A change of state goes on the timeline; pacing or holding is the campaign's live activity while it lasts. */
  private async publish(campaignId: string, previous: StoredPace | null, pace: StoredPace, now: number): Promise<void> {
    const changed = !previous || previous.state !== pace.state || previous.reason !== pace.reason;
    if (pace.state === 'sending') {
      const current = await this.activity.read(campaignId);
      if (current?.reason === 'pacing') await this.activity.release(campaignId);
    } else {
      await this.activity.hold(
        campaignId,
        { reason: 'pacing', message: pace.message, wave: null, figures: pace.figures },
        now,
        PACE_TTL_MS,
      );
    }
    if (!changed || (!previous && pace.state === 'sending')) return;
    const kind = pace.state === 'sending' ? 'resumed' : pace.state;
    await this.lifecycle.note(campaignId, kind, 'pacing', {
      reason: pace.message,
      figures: { ...pace.figures, send_per_second: pace.sendPerSecond },
    });
    if (pace.state !== 'sending') await this.store.markPaced(campaignId, pace.state);
  }
}

/** The open model pacing assumes (the SREs' settings; a campaign's measured opens refine it in the forecast). */
export function openModelOf(settings: DispatchSettings): OpenModel {
  return { openRate: settings.openRate, medianDelaySeconds: settings.openDelayMedianSeconds, sigma: settings.openDelaySigma };
}

/** The fastest the campaign may send: its own rate, else the system's global limit, else the ceiling. */
export function maxSendPerSecond(content: CampaignContent, settings: DispatchSettings): number {
  const limits = campaignLimits(content.wavePlan.rateLimits, settings);
  const perMinute = limits.campaign.perMinute ?? limits.system.globalPerMinute;
  return perMinute === null ? UNLIMITED_SEND_PER_SECOND : perMinute / 60;
}

/** The origin's health as the snapshot says (absent: healthy; the gateway does not judge it). */
function originHealthy(snapshot: object): boolean {
  const origin = (snapshot as { origin?: { healthy?: unknown } }).origin;
  return origin?.healthy !== false;
}

function toDecision(pace: StoredPace): PacingDecision {
  return { ...pace, reason: pace.reason as PacingDecision['reason'], figures: pace.figures as PacingDecision['figures'] };
}
