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
    if (campaign.status === 'paused') return this.queues.park(job, campaignId, QueueName.Plan, () => this.context.isPaused(campaignId));
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
    let recipients: Recipient[] | null = null;
    if (!checkpoint) {
      const previous = wave > 1 ? await this.repo.findWave(campaignId, wave - 1) : null;
      if (wave > 1 && !previous) throw new Error(`wave ${wave - 1} of campaign ${campaignId} has no checkpoint`);
      const afterId = previous?.lastId ?? 0n;
      const page = await this.page(audience, afterId, waveSize);
      const saved = await this.repo.saveWave({
        campaignId,
        wave,
        afterId,
        lastId: page.lastId,
        size: page.recipients.length,
        batches: Math.ceil(page.recipients.length / batchSize),
        dueAt: new Date(data.dueAt),
        startNote: data.note ?? null,
        startedAt: new Date(this.now()),
        last: !page.more,
      });
      checkpoint = saved.wave;
      // Another planner of this wave (a stalled job run twice) may have written its checkpoint first: then its
      // listing is the wave, and this one's is not used.
      if (saved.created) recipients = page.recipients;
    }
    if (recipients === null) {
      const progress = await this.lifecycle.store.waveProgress(campaignId, wave);
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
      recipients = (await this.page(audience, checkpoint.afterId, checkpoint.size, checkpoint.lastId)).recipients;
    }
    const batches = chunk(recipients, batchSize).map((batch, i) => ({
      name: 'send-batch' as const,
      data: { campaignId, wave, batch: i + 1, deviceIds: batch.map((r) => r.id), attempt: 0, platforms: countPlatforms(batch) },
      opts: { jobId: batchJobId(campaignId, wave, i + 1) },
    }));
    await this.queues.addBatches(batches);
    return this.counted(data, recipients.length, batches.length, checkpoint.last, checkpoint.startedAt, intervalSeconds);
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
    const summary = await this.lifecycle.store.planned(campaignId, wave, size, last, this.now());
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
   * The next wave of the audience after `afterId`: up to `limit` recipients, whether more follow (one more row is
   * read to know: no empty last wave), and the id the next wave starts after. `upTo` bounds a wave listed again
   * from its checkpoint. For an inline list, `more` and `lastId` come from the list itself, so listed ids that are no
   * longer devices neither end the campaign early nor count as recipients.
   */
  private async page(
    audience: StoredAudience,
    afterId: bigint,
    limit: number,
    upTo: bigint | null = null,
  ): Promise<{ recipients: Recipient[]; more: boolean; lastId: bigint }> {
    const within = (id: bigint) => id > afterId && (upTo === null || id <= upTo);
    let rows: PlannedDevice[];
    let more: boolean;
    let lastId: bigint;
    if ('segment' in audience) {
      rows = (await this.repo.segmentPage(audience.segment, afterId, limit + 1)).filter((r) => within(r.id));
      more = rows.length > limit;
      rows = rows.slice(0, limit);
      lastId = rows.at(-1)?.id ?? afterId;
    } else {
      const listed = [...new Set(audience.deviceIds)]
        .map((s) => BigInt(s))
        .filter(within)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      more = listed.length > limit;
      const ids = listed.slice(0, limit);
      lastId = ids.at(-1) ?? afterId;
      rows = await this.repo.platformsOf(ids);
    }
    return { recipients: rows.map((r) => ({ id: r.id.toString(), platform: r.platform })), more, lastId };
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
