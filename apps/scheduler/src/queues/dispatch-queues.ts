import { Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { DelayedError, type Job, type JobsOptions, type Queue } from 'bullmq';
import { JOB_QUEUE, QueueName, storeSendBatch, type JobName, type JobPayload, type JoinedSendBatch } from '@tidegate/contracts';
import { DispatchStore } from '@tidegate/redis';
import { SendQueues } from './send-queues';

/** How long a job of a paused campaign sleeps before it looks again (resume wakes it at once). */
export const PARK_MS = 60_000;

/**
 * Completed jobs are kept for an hour but at most the last 1,000 per queue (a send job carries up to 500 device ids:
 * keeping every finished batch of a 10 M campaign would keep 10 M ids in Redis). Kept, a deterministic id added
 * again is a no-op, and Bull Board shows recent work. Failed ones are kept for a week. Attempts cover infrastructure errors (PostgreSQL or Redis down): provider
 * retries are new jobs for the recipients concerned, not attempts of the batch.
 */
export const DISPATCH_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** What a job stores: a send batch in its stored spelling (libs/contracts StoredSendBatch: the ids joined), others as they are. */
function stored<N extends JobName>(name: N, data: JobPayload<N>): unknown {
  return name === 'send-batch' ? storeSendBatch(data as JobPayload<'send-batch'>) : data;
}

/** The running job, as a processor may steer it: move it to later (a wait that consumes no attempt). */
export interface JobControl {
  readonly id: string;
  /** The queue the job is in (a send job's partitioned queue, `send-<q>`); missing in scenario tests' fakes. */
  readonly queue?: string;
  readonly data: unknown;
  moveToDelayed(at: number): Promise<void>;
  updateData(data: unknown): Promise<void>;
}

export function jobControl(job: Job, token: string | undefined): JobControl {
  return {
    id: job.id ?? '',
    queue: job.queueName,
    data: job.data as unknown,
    moveToDelayed: (at) => job.moveToDelayed(at, token),
    updateData: (data) => job.updateData(data),
  };
}

/**
 * The queues the dispatch code writes to, and the moves of a running job. A send job goes to its partition's queue
 * (SendQueues: `send-<q>`, from the payload's partition), whatever queue name the caller gives.
 */
@Injectable()
export class DispatchQueues {
  private readonly logger = new Logger('DispatchQueues');
  private readonly byName: Map<string, Queue>;

  constructor(
    @InjectQueue(QueueName.Plan) plan: Queue,
    @InjectQueue(QueueName.Send) send: Queue,
    @InjectQueue(QueueName.Stats) stats: Queue,
    readonly store: DispatchStore,
    private readonly sendQueues: SendQueues,
  ) {
    this.byName = new Map([
      [QueueName.Plan, plan],
      [QueueName.Send, send],
      [QueueName.Stats, stats],
    ]);
  }

  private queue(name: string): Queue | undefined {
    return this.byName.get(name) ?? this.sendQueues.all.find((q) => q.name === name);
  }

  /** The queue a job goes to: a send batch to its partition's. */
  private target<N extends JobName>(queue: QueueName, name: N, data: JobPayload<N>): Queue {
    if (name === 'send-batch') return this.sendQueues.of((data as JobPayload<'send-batch'>).partition);
    return this.byName.get(queue) as Queue;
  }

  async add<N extends JobName>(queue: QueueName, name: N, data: JobPayload<N>, opts: JobsOptions): Promise<void> {
    await this.target(queue, name, data).add(name, stored(name, data), { ...DISPATCH_JOB_OPTIONS, ...opts });
  }

  /**
   * Whether a job with this id is held by the queue (waiting, delayed, active, or kept after it finished); for the
   * send queue, by any send queue (the partitioned ones and the one from before partitions).
   */
  async hasJob(queue: QueueName, jobId: string): Promise<boolean> {
    const queues = queue === QueueName.Send ? this.sendQueues.withLegacy : [this.byName.get(queue) as Queue];
    for (const q of queues) if ((await q.getJob(jobId)) !== undefined) return true;
    return false;
  }

  /**
   * The campaigns that have a job waiting, delayed, active or prioritized in the plan or send queue (job ids start
   * with the campaign id: libs/domain dispatch job ids). Reads ids only (no job data); the watchdog calls it only when
   * a campaign looks stuck.
   */
  async campaignsWithJobs(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const queue of [this.byName.get(QueueName.Plan) as Queue, ...this.sendQueues.withLegacy]) {
      const ids = await queue.getRanges(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children'], 0, -1);
      for (const id of ids) out.add(id.slice(0, id.indexOf('.')));
    }
    return out;
  }

  /**
   * Queues a job under a deterministic id: added when BullMQ holds no job with that id, retried when it holds a failed
   * one (its attempts start again), left as it is otherwise.
   */
  async addOrRetry<N extends JobName>(name: N, data: JobPayload<N>, jobId: string): Promise<'queued' | 'retried' | 'present'> {
    const q = this.target(JOB_QUEUE[name], name, data);
    const existing = await q.getJob(jobId);
    if (!existing) {
      await q.add(name, stored(name, data), { ...DISPATCH_JOB_OPTIONS, jobId });
      return 'queued';
    }
    if (await existing.isFailed()) {
      await existing.retry('failed');
      return 'retried';
    }
    return 'present';
  }

  /**
   * One wave's batches: one BullMQ addBulk (a single MULTI) per send queue involved, the queue of the first batch
   * last, so once the first batch is there every batch is (the planner's crash recovery looks for the first).
   */
  async addBatches(
    batches: ReadonlyArray<{ name: 'send-batch'; data: JobPayload<'send-batch'> | JoinedSendBatch; opts: JobsOptions }>,
  ): Promise<void> {
    if (batches.length === 0) return;
    const byQueue = new Map<Queue, Array<(typeof batches)[number]>>();
    for (const b of batches) {
      const q = this.sendQueues.of(b.data.partition);
      const list = byQueue.get(q);
      if (list) list.push(b);
      else byQueue.set(q, [b]);
    }
    const first = this.sendQueues.of(batches[0]?.data.partition);
    const order = [...byQueue.keys()].filter((q) => q !== first).concat(first);
    for (const q of order) {
      await q.addBulk(
        (byQueue.get(q) ?? []).map((b) => ({ name: b.name, data: storeSendBatch(b.data), opts: { ...DISPATCH_JOB_OPTIONS, ...b.opts } })),
      );
    }
  }

  /** Moves the running job to `until` (recording why in its data) and ends this run of it. */
  async wait(job: JobControl, until: number, note?: string): Promise<never> {
    if (note !== undefined && (job.data as { note?: string }).note !== note) await job.updateData({ ...(job.data as object), note });
    await job.moveToDelayed(until);
    throw new DelayedError();
  }

  /**
   * Parks the running job of a paused campaign: remembered first (so resume finds it), then put to sleep. `stillPaused`
   * reads the status afresh after the job is remembered: a resume that came in between (and woke what it found)
   * must not leave this job asleep for PARK_MS.
   */
  async park(job: JobControl, campaignId: string, queue: QueueName, stillPaused: () => Promise<boolean>): Promise<never> {
    // The job's own queue when known (a send job's partitioned one), so resume finds it.
    await this.store.park(campaignId, job.queue ?? queue, job.id);
    await job.moveToDelayed((await stillPaused()) ? Date.now() + PARK_MS : Date.now());
    throw new DelayedError();
  }

  /**
   * Runs a delayed job of queue `queue` (any of this process's, a send queue's name included) now: a parked job on
   * resume, or a wave's planner waiting for an earlier wave that has just finished. False when there is no such job or
   * it is not delayed (not yet queued, running, or done): a planner looks again on its own when it waits next.
   */
  async promote(queue: string, jobId: string): Promise<boolean> {
    const job = await this.queue(queue)?.getJob(jobId);
    if (!job || !(await job.isDelayed())) return false;
    try {
      await job.promote();
      return true;
    } catch (err) {
      // It left the delayed set in between (it ran, or was woken by another): BullMQ refuses, nothing needs waking.
      this.logger.debug?.(`job ${jobId} of queue ${queue} could not be promoted: ${(err as Error).message}`);
      return false;
    }
  }

  /** Wakes the parked jobs of a campaign (resume, cancel). Jobs that already woke or finished are skipped. */
  async wakeParked(campaignId: string): Promise<number> {
    let woken = 0;
    for (const { queue, jobId } of await this.store.takeParked(campaignId)) {
      if (await this.promote(queue, jobId)) woken++;
    }
    return woken;
  }
}
