import { Inject, Injectable, Logger } from '@nestjs/common';
import { JOB_QUEUE, QueueName, type JobPayload } from '@tidegate/contracts';
import { RoomSnapshotStore } from '@tidegate/admission';
import type { RoomSnapshot } from '@tidegate/contracts';
import { DispatchRepository } from '@tidegate/database';
import { batchJobId, nextWaveDue, nextWaveSize, planJobId, windowDelay } from '@tidegate/domain';
import {
  ACTIVITY_TTL_MS,
  CampaignActivityStore,
  DispatchStore,
  REDIS,
  RedisKeys,
  type PartitionLayout,
  partitionsFor,
  type CampaignActivity,
  type RedisClient,
} from '@tidegate/redis';
import type { CampaignContent, StoredAudience } from '../campaigns/campaign-content';
import { CampaignPacer } from '../pacing/campaign-pacer';
import { PaceReader } from '../pacing/pace-reader';
import { CampaignLifecycle } from '../campaigns/lifecycle/campaign-lifecycle';
import { DispatchContext } from '../campaigns/lifecycle/dispatch-context';
import { WaveRecipients, type PlannedBatch } from '../campaigns/lifecycle/wave-recipients';
import { DispatchQueues, type JobControl } from '../queues/dispatch-queues';
import { DISPATCH_NOW, DISPATCH_OPTIONS, type DispatchOptions, type Now } from './dispatch-options';

/**
 * Waves sending at once, at most: wave k waits until wave k − 2 has finished (every recipient sent, failed, invalid
 * or held for quiet hours). Two let a wave start on time while the previous one finishes its last batches; more
 * would let a slow provider pile whole waves up in Redis.
 */
export const WAVES_IN_FLIGHT = 2;
/** How often a wave waiting for an earlier one (or for the room) looks again. */
export const WAVE_POLL_MS = 500;

/** Why a wave is held, in words, with its figures: shown live in the campaign's status and kept on its timeline. */
type Hold = Pick<CampaignActivity, 'reason' | 'message' | 'figures'>;

export type PlanOutcome = { kind: 'planned'; wave: number; size: number; last: boolean } | { kind: 'skipped'; why: string };

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
 * While a wave is held (window, previous wave, room pressure) the campaign's live activity says why, with the figures,
 * and the timeline records when the hold began and ended (`held`, `released`).
 *
 * Crash safety, in that order: checkpoint (PostgreSQL, first writer wins) → batches (one BullMQ addBulk, job ids
 * deterministic) → count (Redis, once). A planner that dies anywhere runs again and finds the checkpoint; if the
 * count is missing, the batches may be missing too, so it lists the wave again from the checkpoint and enqueues
 * them (duplicates are the same job ids).
 */
@Injectable()
export class WavePlanner {
  private readonly logger = new Logger('WavePlanner');
  private readonly activity: CampaignActivityStore;

  constructor(
    private readonly context: DispatchContext,
    private readonly repo: DispatchRepository,
    private readonly queues: DispatchQueues,
    private readonly lifecycle: CampaignLifecycle,
    private readonly store: DispatchStore,
    private readonly recipientsOf: WaveRecipients,
    private readonly paces: PaceReader,
    private readonly pacer: CampaignPacer,
    private readonly keys: RedisKeys,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(DISPATCH_NOW) private readonly now: Now,
    @Inject(DISPATCH_OPTIONS) private readonly options: DispatchOptions,
  ) {
    this.activity = new CampaignActivityStore(redis, keys);
  }

  async run(data: JobPayload<'plan-wave'>, job: JobControl): Promise<PlanOutcome> {
    const { campaignId, wave } = data;
    const snapshot = await this.context.campaign(campaignId, 0);
    if (!snapshot) return { kind: 'skipped', why: 'the campaign no longer exists' };
    const { campaign, content } = snapshot;
    if (campaign.status === 'paused') return this.queues.park(job, campaignId, QueueName.Plan, () => this.context.isPaused(campaignId));
    if (campaign.status !== 'running') return { kind: 'skipped', why: `the campaign is ${campaign.status}` };

    const now = this.now();
    if (data.dueAt > now) return this.queues.wait(job, data.dueAt, data.note);
    const existing = await this.repo.findWave(campaignId, wave);
    if (!existing) {
      const opens = windowDelay(content.schedule.sendWindow, new Date(now)).getTime();
      if (opens > now) {
        const window = content.schedule.sendWindow;
        return this.hold(job, data, opens, {
          reason: 'window',
          message: `wave ${wave} waits for the send window${window ? ` (${window.start}-${window.end} ${window.timezone})` : ''}: it opens at ${new Date(opens).toISOString()}`,
          figures: { opens_at: new Date(opens).toISOString() },
        });
      }
      if (wave > WAVES_IN_FLIGHT) {
        const before = wave - WAVES_IN_FLIGHT;
        const earlier = await this.store.waveProgress(campaignId, before);
        if (earlier.targeted === null || earlier.settled + earlier.holding < earlier.targeted) {
          return this.hold(job, data, now + WAVE_POLL_MS, {
            reason: 'previous_wave',
            message: `wave ${wave} waits for wave ${before} to finish sending (${earlier.settled + earlier.holding} of ${earlier.targeted ?? '?'} recipients have an outcome; at most ${WAVES_IN_FLIGHT} waves send at once)`,
            figures: { wave: before, targeted: earlier.targeted, done: earlier.settled + earlier.holding },
          });
        }
      }
      if (content.wavePlan.pacing && campaign.roomId) {
        // The pacing controller's decision (taken now if none is in force: the wave's first batches must not leave
        // unpaced); when it cannot decide (the room has no settings in Redis yet), the room's pressure as it is now.
        const outcome = (await this.paces.read(campaignId)) ? null : await this.pacer.pace(campaignId);
        const pace = outcome?.kind === 'paced' ? outcome.pace : await this.paces.read(campaignId);
        if (pace?.state === 'held') {
          // The pacer put its decision on the timeline already: here the wave only says it waits for it.
          const why = { reason: 'pacing', message: `wave ${wave} ${pace.message}`, figures: pace.figures };
          return this.hold(job, data, now + WAVE_POLL_MS, why, false);
        }
        if (!pace) {
          const room = await this.roomPressure(campaign.roomId, now);
          const limit = (await this.context.settings()).roomPressureLimit;
          if (room && limit !== null && (room.pressure === null || room.pressure >= limit)) {
            return this.hold(job, data, now + WAVE_POLL_MS, roomHold(room, limit));
          }
        }
      }
    }
    await this.released(campaignId, wave);
    return this.materialise(
      data,
      content.audience,
      await this.waveSize(campaignId, wave, content.wavePlan, campaign.roomId !== null),
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
    // The campaign's partitions, pinned when its first wave is cut into batches (fewer for a small first wave; one for a
    // campaign that was sending before partitions existed).
    const pin = (firstWaveSize: number) =>
      this.store.pinPartitions(campaignId, partitionsFor(firstWaveSize, batchSize, this.options.partitions), this.options.partitionBlock);
    let layout: PartitionLayout;
    // This planner's listing cut into batches, when it is the wave: the checkpoint counted them, the same are enqueued.
    let batches: PlannedBatch[] | null = null;
    let listed = 0;
    let checkpoint = await this.repo.findWave(campaignId, wave);
    if (checkpoint) layout = await pin(checkpoint.size);
    else {
      const previous = wave > 1 ? await this.repo.findWave(campaignId, wave - 1) : null;
      if (wave > 1 && !previous) throw new Error(`wave ${wave - 1} of campaign ${campaignId} has no checkpoint`);
      const afterId = previous?.lastId ?? 0n;
      const listing = await this.recipientsOf.listWave(audience, afterId, waveSize);
      layout = await pin(listing.size);
      const cut = listing.cut(batchSize, layout);
      const saved = await this.repo.saveWave({
        campaignId,
        wave,
        afterId,
        lastId: listing.lastId,
        size: listing.size,
        batches: cut.length,
        dueAt: new Date(data.dueAt),
        startNote: data.note ?? null,
        startedAt: new Date(this.now()),
        last: !listing.more,
      });
      checkpoint = saved.wave;
      // Another planner of this wave (a stalled job run twice) may have written its checkpoint first: then its
      // listing is the wave, and this one's is not used.
      if (saved.created) [batches, listed] = [cut, listing.size];
    }
    if (batches === null) {
      const progress = await this.store.waveProgress(campaignId, wave);
      // Counted already: its batches were enqueued before the count. Only the next wave's planner may be missing.
      if (progress.targeted !== null) {
        await this.scheduleNext(campaignId, wave, !checkpoint.last, checkpoint.startedAt, intervalSeconds);
        return { kind: 'planned', wave, size: checkpoint.size, last: checkpoint.last };
      }
      if (checkpoint.size > 0 && (await this.queues.hasJob(QueueName.Send, batchJobId(campaignId, wave, 1)))) {
        // Enqueued (one addBulk: all or none) but not counted: count the checkpoint's recipients, the batches'.
        return this.counted(data, checkpoint.size, checkpoint.batches, checkpoint.last, checkpoint.startedAt, intervalSeconds);
      }
      // Never enqueued: the wave is listed again from its checkpoint (devices deactivated since are left out).
      const again = await this.recipientsOf.listWave(audience, checkpoint.afterId, checkpoint.size, checkpoint.lastId);
      [batches, listed] = [again.cut(batchSize, layout), again.size];
    }
    // One partition per batch, the partitions in turn (libs/redis partitionBatches); the ids joined as listed.
    const jobs = batches.map(({ partition, ids, platforms }, i) => ({
      name: 'send-batch' as const,
      data: { campaignId, wave, batch: i + 1, attempt: 0, platforms, partition, joinedIds: ids },
      opts: { jobId: batchJobId(campaignId, wave, i + 1) },
    }));
    await this.queues.addBatches(jobs);
    return this.counted(data, listed, jobs.length, checkpoint.last, checkpoint.startedAt, intervalSeconds);
  }

  /** Counts the wave's recipients (once), then completes the campaign or queues the next wave's planner. */
  private async counted(
    data: JobPayload<'plan-wave'>,
    size: number,
    batches: number,
    last: boolean,
    startedAt: Date,
    intervalSeconds: number,
  ): Promise<PlanOutcome> {
    const { campaignId, wave } = data;
    const summary = await this.store.planned(campaignId, wave, size, last, this.now());
    this.logger.log({
      msg: `campaign ${campaignId} wave ${wave}: ${size} recipients in ${batches} batches${last ? ' (last)' : ''}`,
      campaignId,
      wave,
    });
    if (last) await this.lifecycle.completeIfDone(campaignId, summary);
    else await this.scheduleNext(campaignId, wave, true, startedAt, intervalSeconds);
    return { kind: 'planned', wave, size, last };
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

  /**
   * Holds the wave until `until` (a job moved to later: it consumes no attempt), saying why live; a hold that is new
   * (another reason, or the first) goes on the campaign's timeline.
   */
  private async hold(job: JobControl, data: JobPayload<'plan-wave'>, until: number, why: Hold, onTimeline = true): Promise<never> {
    const { campaignId, wave } = data;
    // Shown until a little after the job looks again (a dead planner leaves no stale hold).
    const previous = await this.activity.hold(campaignId, { ...why, wave }, this.now(), until - this.now() + ACTIVITY_TTL_MS);
    if (onTimeline && (!previous || previous.reason !== why.reason || previous.wave !== wave)) {
      await this.lifecycle.note(campaignId, 'held', 'planner', {
        reason: why.message,
        figures: { hold: why.reason, wave, ...why.figures },
      });
    }
    return this.queues.wait(job, until, why.reason);
  }

  /**
   * The size of wave `wave`: as planned, or with pacing, from how the previous wave went (held: half; sent at full
   * speed: half as large again, up to twice the plan). A checkpointed wave keeps its size whatever this says.
   */
  private async waveSize(campaignId: string, wave: number, plan: CampaignContent['wavePlan'], hasRoom: boolean): Promise<number> {
    if (!plan.pacing || !hasRoom || wave === 1) return plan.waveSize;
    const previous = await this.repo.findWave(campaignId, wave - 1);
    if (!previous || previous.size === 0) return plan.waveSize;
    return nextWaveSize(previous.size, plan.waveSize, plan.batchSize, await this.store.pacingOf(campaignId, wave - 1));
  }

  /** The wave goes: a hold in force ends, with how long it lasted on the timeline. */
  private async released(campaignId: string, wave: number): Promise<void> {
    const held = await this.activity.release(campaignId);
    if (!held) return;
    const seconds = Math.round((this.now() - held.since) / 100) / 10;
    await this.lifecycle.note(campaignId, 'released', 'planner', {
      reason: `wave ${wave} leaves after ${seconds} s held (${held.reason})`,
      figures: { hold: held.reason, wave, held_seconds: seconds },
    });
  }

  /**
   * The campaign's room as the gateway's latest snapshot shows it: null when there is no room or no fresh snapshot
   * (nothing to judge); its pressure is 0 when nobody waits, null when the room admits no one (infinite pressure).
   */
  private async roomPressure(roomId: string | null, now: number): Promise<RoomSnapshot | null> {
    if (!roomId) return null;
    const stored = await new RoomSnapshotStore(this.redis, this.keys, () => now).read(roomId);
    if (!stored?.fresh) return null;
    return stored.snapshot.waiting === 0 ? { ...stored.snapshot, pressure: 0 } : stored.snapshot;
  }
}

/** Why a wave waits for its room, with the room's figures. */
function roomHold(room: RoomSnapshot, limit: number): Hold {
  const figures = {
    room_id: room.roomId,
    waiting: room.waiting,
    active: room.active,
    admitted_per_minute: room.admittedPerMinute,
    estimated_wait_seconds: room.estimatedWaitSeconds,
    pressure: room.pressure,
    pressure_limit: limit,
  };
  const wait =
    room.estimatedWaitSeconds === null
      ? 'nobody is being admitted'
      : `a newcomer would wait about ${Math.round(room.estimatedWaitSeconds)} s`;
  const pressure = room.pressure === null ? 'the line is not moving' : `pressure ${room.pressure.toFixed(2)} ≥ limit ${limit}`;
  return {
    reason: 'room_pressure',
    message: `the next wave waits for room ${room.roomId}: ${room.waiting} people waiting, ${wait} (${pressure})`,
    figures,
  };
}
