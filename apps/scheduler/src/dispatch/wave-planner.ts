import { Inject, Injectable, Logger } from '@nestjs/common';
import { JOB_QUEUE, QueueName, type JobPayload } from '@tidegate/contracts';
import { DispatchRepository, type PlannedDevice } from '@tidegate/database';
import { batchJobId, chunk, nextWaveDue, planJobId, windowDelay, type PushPlatform } from '@tidegate/domain';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import type { RoomSnapshot } from '@tidegate/contracts';
import type { StoredAudience } from '../campaigns/campaign-content';
import { CampaignLifecycle } from './campaign-lifecycle';
import { DISPATCH_NOW, DispatchContext, type Now } from './dispatch-context';
import { DispatchQueues, type JobControl } from './dispatch-queues';

/**
 * Waves sending at once, at most: wave k waits until wave k − 2 has finished (every recipient sent, failed, invalid
 * or held for quiet hours). Two let a wave start on time while the previous one finishes its last batches; more
 * would let a slow provider pile whole waves up in Redis.
 */
export const WAVES_IN_FLIGHT = 2;
/** How often a wave waiting for an earlier one (or for the room) looks again. */
export const WAVE_POLL_MS = 500;
/** A room snapshot older than this is ignored: no gateway is releasing that room, so it cannot be judged. */
export const ROOM_SNAPSHOT_MAX_AGE_MS = 30_000;

interface Recipient {
  id: string;
  platform: PushPlatform;
}

/** How many recipients of a batch are on each platform. */
export function countPlatforms(recipients: ReadonlyArray<{ platform: PushPlatform }>): Record<PushPlatform, number> {
  const counts: Record<PushPlatform, number> = { fcm: 0, apns: 0, webpush: 0 };
  for (const r of recipients) counts[r.platform]++;
  return counts;
}

export type PlanOutcome =
  | { kind: 'planned'; wave: number; size: number; last: boolean }
  | { kind: 'waiting'; until: number; why: string }
  | { kind: 'skipped'; why: string };

/**
 * The planner: materialises one wave when it is due, and schedules the next. One job per wave (`<campaign>.p<wave>`),
 * so Redis holds the wave in flight and the next wave's planner, never the whole audience.
 *
 * A wave goes when all of these hold, each re-checked after a wait: the campaign is running (paused: the job is
 * parked until resume), its due time has come (previous wave's start + interval), the send window is open, the
 * wave before the previous one has finished sending (WAVES_IN_FLIGHT; recipients held for quiet hours do not hold
 * the campaign back), and the campaign's room is not under pressure (its estimated wait below the SREs'
 * limit of the max wait). Then it reads the next `waveSize` device ids after the previous wave's last one (keyset
 * pagination), writes the wave's checkpoint to PostgreSQL, enqueues its batches, and counts it.
 *
 * Crash safety, in that order: checkpoint (PostgreSQL, first writer wins) → batches (one BullMQ addBulk, job ids
 * deterministic) → count (Redis, once). A planner that dies anywhere runs again and finds the checkpoint; if the
 * count is missing, the batches may be missing too, so it lists the wave again from the checkpoint and enqueues
 * them (duplicates are the same job ids).
 */
@Injectable()
export class WavePlanner {
  private readonly logger = new Logger('WavePlanner');

  constructor(
    private readonly context: DispatchContext,
    private readonly repo: DispatchRepository,
    private readonly queues: DispatchQueues,
    private readonly lifecycle: CampaignLifecycle,
    private readonly keys: RedisKeys,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(DISPATCH_NOW) private readonly now: Now,
  ) {}

  async run(data: JobPayload<'plan-wave'>, job: JobControl): Promise<PlanOutcome> {
    const { campaignId, wave } = data;
    const snapshot = await this.context.campaign(campaignId, 0);
    if (!snapshot) return { kind: 'skipped', why: 'the campaign no longer exists' };
    const { campaign, content } = snapshot;
    if (campaign.status === 'paused') return this.queues.park(job, campaignId, QueueName.Plan);
    if (campaign.status !== 'running') return { kind: 'skipped', why: `the campaign is ${campaign.status}` };

    const now = this.now();
    if (data.dueAt > now) return this.queues.wait(job, data.dueAt, data.note);
    const existing = await this.repo.findWave(campaignId, wave);
    if (!existing) {
      const opens = windowDelay(content.schedule.sendWindow, new Date(now)).getTime();
      if (opens > now) return this.queues.wait(job, opens, 'window');
      if (wave > WAVES_IN_FLIGHT) {
        const earlier = await this.lifecycle.store.waveProgress(campaignId, wave - WAVES_IN_FLIGHT);
        if (earlier.targeted === null || earlier.settled + earlier.holding < earlier.targeted) {
          return this.queues.wait(job, now + WAVE_POLL_MS, 'previous_wave');
        }
      }
      const pressure = await this.roomPressure(campaign.roomId, now);
      const limit = (await this.context.settings()).roomPressureLimit;
      if (pressure !== undefined && limit !== null && (pressure === null || pressure >= limit)) {
        return this.queues.wait(job, now + WAVE_POLL_MS, 'room_pressure');
      }
    }
    return this.materialise(
      data,
      content.audience,
      content.wavePlan.waveSize,
      content.wavePlan.batchSize,
      content.wavePlan.intervalSeconds,
    );
  }

  private async materialise(
    data: JobPayload<'plan-wave'>,
    audience: StoredAudience,
    waveSize: number,
    batchSize: number,
    intervalSeconds: number,
  ): Promise<PlanOutcome> {
    const { campaignId, wave } = data;
    let checkpoint = await this.repo.findWave(campaignId, wave);
    let ids: Recipient[];
    let more: boolean;
    if (!checkpoint) {
      const previous = wave > 1 ? await this.repo.findWave(campaignId, wave - 1) : null;
      if (wave > 1 && !previous) throw new Error(`wave ${wave - 1} of campaign ${campaignId} has no checkpoint`);
      const afterId = previous?.lastId ?? 0n;
      // One more than a wave: whether anything is left after it says if this wave is the last (no empty last wave).
      ids = await this.page(audience, afterId, waveSize + 1, null);
      more = ids.length > waveSize;
      if (more) ids = ids.slice(0, waveSize);
      checkpoint = await this.repo.saveWave({
        campaignId,
        wave,
        afterId,
        lastId: ids.length > 0 ? BigInt((ids[ids.length - 1] as Recipient).id) : afterId,
        size: ids.length,
        batches: Math.ceil(ids.length / batchSize),
        dueAt: new Date(data.dueAt),
        startNote: data.note ?? null,
        startedAt: new Date(this.now()),
        last: !more,
      });
    } else {
      const progress = await this.lifecycle.store.waveProgress(campaignId, wave);
      // Counted already: its batches were enqueued before the count. Only the next wave's planner may be missing.
      more = !checkpoint.last;
      if (progress.targeted !== null) {
        await this.scheduleNext(campaignId, wave, more, checkpoint.startedAt, intervalSeconds);
        return { kind: 'planned', wave, size: checkpoint.size, last: !more };
      }
      ids = await this.page(audience, checkpoint.afterId, checkpoint.size, checkpoint.lastId);
    }
    const last = !more;
    const batches = chunk(ids, batchSize).map((recipients, i) => ({
      name: 'send-batch' as const,
      data: { campaignId, wave, batch: i + 1, deviceIds: recipients.map((r) => r.id), attempt: 0, platforms: countPlatforms(recipients) },
      opts: { jobId: batchJobId(campaignId, wave, i + 1) },
    }));
    await this.queues.addBatches(batches);
    const summary = await this.lifecycle.store.planned(campaignId, wave, ids.length, last, this.now());
    this.logger.log({
      msg: `campaign ${campaignId} wave ${wave}: ${ids.length} recipients in ${batches.length} batches${last ? ' (last)' : ''}`,
      campaignId,
      wave,
    });
    if (last) await this.lifecycle.completeIfDone(campaignId, summary);
    else await this.scheduleNext(campaignId, wave, true, checkpoint.startedAt, intervalSeconds);
    return { kind: 'planned', wave, size: ids.length, last };
  }

  /** Queues the next wave's planner, due the interval after this wave started (unless this wave was the last). */
  private async scheduleNext(campaignId: string, wave: number, more: boolean, startedAt: Date, intervalSeconds: number): Promise<void> {
    if (!more) return;
    const dueAt = nextWaveDue(startedAt, intervalSeconds).getTime();
    await this.queues.add(
      JOB_QUEUE['plan-wave'],
      'plan-wave',
      { campaignId, wave: wave + 1, dueAt },
      { jobId: planJobId(campaignId, wave + 1), delay: Math.max(0, dueAt - this.now()) },
    );
  }

  /** The next page of the audience after `afterId` (up to `upTo` when re-listing a checkpointed wave). */
  private async page(audience: StoredAudience, afterId: bigint, limit: number, upTo: bigint | null): Promise<Recipient[]> {
    let rows: PlannedDevice[];
    if ('segment' in audience) {
      rows = await this.repo.segmentPage(audience.segment, afterId, limit);
    } else {
      const ids = audience.deviceIds
        .map((s) => BigInt(s))
        .filter((id) => id > afterId)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit);
      // Listed ids that are not devices (deleted since) are left out here, so they are not counted as recipients.
      rows = await this.repo.platformsOf(ids);
    }
    return (upTo === null ? rows : rows.filter((r) => r.id <= upTo)).map((r) => ({ id: r.id.toString(), platform: r.platform }));
  }

  /**
   * The pressure of the campaign's room from the gateway's latest snapshot: undefined when there is no room or no
   * fresh snapshot (nothing to judge), null when the room admits no one (infinite pressure), else the number.
   */
  private async roomPressure(roomId: string | null, now: number): Promise<number | null | undefined> {
    if (!roomId) return undefined;
    const raw = await this.redis.get(this.keys.room(roomId).snapshot);
    if (!raw) return undefined;
    const snapshot = JSON.parse(raw) as RoomSnapshot;
    if (now - snapshot.at > ROOM_SNAPSHOT_MAX_AGE_MS) return undefined;
    return snapshot.waiting === 0 ? 0 : snapshot.pressure;
  }
}
