import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Worker, type Job, type Queue } from 'bullmq';
import { JOB_QUEUE, QueueName, type JobName, type JobPayload, type StoredSendBatch } from '@tidegate/contracts';
import { RedisKeys } from '@tidegate/redis';
import { BullConnection } from '../queues/bull-connection';
import { SendQueues } from '../queues/send-queues';
import { QueueShare, SendSlots, type Resizable } from './send-slots';
import { BatchSender } from './batch-sender';
import { DISPATCH_OPTIONS, type DispatchOptions } from './dispatch-options';
import { jobControl } from '../queues/dispatch-queues';
import { StatsFlusher } from '../campaigns/stats/stats-flusher';
import { WavePlanner } from './wave-planner';

/** Planner jobs one worker runs at once (each is a few queries and one addBulk). */
export const PLAN_CONCURRENCY = 4;

type Handler = (job: Job, token: string | undefined) => Promise<unknown>;

/**
 * The BullMQ workers of the dispatch queues, created here rather than with @Processor so their options come from
 * the configuration (SEND_CONCURRENCY, JOB_LOCK_MS). Every job name of libs/contracts has exactly one handler, on
 * the queue the contracts name: the type below requires one per name, and boot fails if a handler sits on another
 * queue. A job with a name nobody handles fails (and stays in the failed list for the queue board).
 */
@Injectable()
export class DispatchWorkers implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DispatchWorkers');
  private readonly workers: Worker[] = [];
  readonly handlers: { readonly [N in JobName]: { queue: QueueName; run: Handler } };

  constructor(
    planner: WavePlanner,
    sender: BatchSender,
    flusher: StatsFlusher,
    private readonly connection: BullConnection,
    private readonly keys: RedisKeys,
    @InjectQueue(QueueName.Stats) private readonly statsQueue: Queue,
    @Inject(DISPATCH_OPTIONS) private readonly options: DispatchOptions,
    private readonly sendQueues: SendQueues,
  ) {
    this.handlers = {
      'plan-wave': { queue: QueueName.Plan, run: (job, token) => planner.run(job.data as JobPayload<'plan-wave'>, jobControl(job, token)) },
      'send-batch': {
        queue: QueueName.Send,
        run: (job, token) => sender.run(job.data as StoredSendBatch, jobControl(job, token)),
      },
      'flush-stats': {
        queue: QueueName.Stats,
        run: async (job) => {
          const { campaignId } = job.data as JobPayload<'flush-stats'>;
          if (!campaignId) return flusher.flushChanged();
          await flusher.flush(campaignId);
          return 1;
        },
      },
    };
    for (const [name, handler] of Object.entries(this.handlers) as Array<[JobName, { queue: QueueName }]>) {
      if (handler.queue !== JOB_QUEUE[name])
        throw new Error(`job ${name} goes to queue ${JOB_QUEUE[name]}, but its handler listens on ${handler.queue}`);
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    const concurrency: Record<QueueName, number> = {
      [QueueName.Plan]: PLAN_CONCURRENCY,
      [QueueName.Send]: this.options.sendConcurrency,
      [QueueName.Stats]: 1,
    };
    // The send queues: one worker per partitioned queue and one for the queue from before partitions (draining it),
    // all sharing SEND_CONCURRENCY slots; each partitioned queue's worker takes its share of them, resized after each
    // job (QueueShare: a queue alone with work grows to fill the slots).
    const slots = new SendSlots(this.options.sendConcurrency);
    const share = new QueueShare(slots, Math.max(1, this.sendQueues.all.length));
    // A partitioned queue's handler resizes its own worker, made just below.
    const resizable = new Map<string, Resizable>();
    const queues: Array<{ name: string; prefix: string; concurrency: number; run: Handler }> = [
      ...Object.values(QueueName).map((queue) => ({
        name: queue,
        prefix: this.keys.bullPrefix,
        concurrency: concurrency[queue],
        run: (job: Job, token: string | undefined) =>
          queue === QueueName.Send ? slots.run(() => this.dispatch(queue, job, token)) : this.dispatch(queue, job, token),
      })),
      ...this.sendQueues.all.map((q, index) => ({
        name: q.name,
        prefix: this.keys.sendQueuePrefix(index, this.sendQueues.count),
        concurrency: share.share,
        run: (job: Job, token: string | undefined) =>
          share.run(resizable.get(q.name) as Resizable, () => this.dispatch(QueueName.Send, job, token)),
      })),
    ];
    for (const { name: queue, prefix, concurrency: workers, run } of queues) {
      const worker = new Worker(queue, run, {
        connection: this.connection.client,
        prefix,
        concurrency: workers,
        lockDuration: this.options.lockMs,
        stalledInterval: this.options.lockMs,
        // A job found stalled twice (its worker died twice with it) fails instead of being run a third time: a job
        // that kills workers must not take them all down. Its recipients stay unsettled until an SRE retries it.
        maxStalledCount: 2,
      });
      resizable.set(queue, worker);
      worker.on('failed', (job, err) => this.logFailure(job, err));
      worker.on('error', (err) => this.logger.warn(`queue ${queue}: ${err.message}`));
      this.workers.push(worker);
    }
    await this.statsQueue.upsertJobScheduler(
      'flush-stats',
      { every: this.options.statsFlushMs },
      { name: 'flush-stats', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }

  private dispatch(queue: QueueName, job: Job, token: string | undefined): Promise<unknown> {
    const handler = (this.handlers as Record<string, { queue: QueueName; run: Handler } | undefined>)[job.name];
    if (!handler || handler.queue !== queue)
      return Promise.reject(new Error(`no handler for job ${job.name} (${job.id}) on queue ${queue}`));
    return handler.run(job, token);
  }

  private logFailure(job: Job | undefined, err: Error): void {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1);
    const msg = `${job.name} ${job.id} failed (attempt ${job.attemptsMade}${final ? ', no more: retry it from the queue board' : ''}): ${err.message}`;
    if (final) this.logger.error({ msg, jobId: job.id });
    else this.logger.warn({ msg, jobId: job.id });
  }
}
