import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Processor, WorkerHost, OnWorkerEvent } from '@nestjs/bullmq';
import { InjectQueue } from '@nestjs/bullmq';
import type { Job, Queue } from 'bullmq';
import { JOB_QUEUE, QueueName, type JobName, type JobPayload } from '@tidegate/contracts';
import { BatchSender } from './batch-sender';
import { jobControl } from './dispatch-queues';
import { StatsFlusher } from './stats-flusher';
import { WavePlanner } from './wave-planner';

export const DISPATCH_OPTIONS = Symbol('DISPATCH_OPTIONS');
export interface DispatchOptions {
  sendConcurrency: number;
  statsFlushMs: number;
  tickMs: number;
}

/** Which processor handles each job name: every job of libs/contracts has exactly one (checked at boot). */
export const JOB_HANDLERS: { readonly [N in JobName]: string } = {
  'plan-wave': 'PlanProcessor',
  'send-batch': 'SendProcessor',
  'flush-stats': 'StatsProcessor',
};

/** Refuses a job whose name this processor does not handle (a producer out of step with the contracts). */
function expect<N extends JobName>(job: Job, name: N, processor: string): JobPayload<N> {
  if (job.name !== name || JOB_HANDLERS[name] !== processor) throw new Error(`${processor} has no handler for job ${job.name} (${job.id})`);
  return job.data as JobPayload<N>;
}

function logFailure(logger: Logger, job: Job | undefined, err: Error): void {
  if (!job) return;
  const final = job.attemptsMade >= (job.opts.attempts ?? 1);
  const msg = `${job.name} ${job.id} failed (attempt ${job.attemptsMade}${final ? ', no more: retry it from the queue board' : ''}): ${err.message}`;
  if (final) logger.error({ msg, jobId: job.id });
  else logger.warn({ msg, jobId: job.id });
}

@Processor(QueueName.Plan)
export class PlanProcessor extends WorkerHost {
  private readonly logger = new Logger('PlanProcessor');
  constructor(private readonly planner: WavePlanner) {
    super();
  }
  process(job: Job, token?: string) {
    return this.planner.run(expect(job, 'plan-wave', 'PlanProcessor'), jobControl(job, token));
  }
  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error) {
    logFailure(this.logger, job, err);
  }
}

@Processor(QueueName.Send)
export class SendProcessor extends WorkerHost {
  private readonly logger = new Logger('SendProcessor');
  constructor(private readonly sender: BatchSender) {
    super();
  }
  process(job: Job, token?: string) {
    return this.sender.run(expect(job, 'send-batch', 'SendProcessor'), jobControl(job, token));
  }
  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error) {
    logFailure(this.logger, job, err);
  }
}

@Processor(QueueName.Stats)
export class StatsProcessor extends WorkerHost {
  constructor(private readonly flusher: StatsFlusher) {
    super();
  }
  async process(job: Job) {
    const data = expect(job, 'flush-stats', 'StatsProcessor');
    if (data.campaignId) {
      await this.flusher.flush(data.campaignId);
      return 1;
    }
    return this.flusher.flushChanged();
  }
}

/**
 * Worker start-up: every job name has a processor on the queue the contracts name (else the process refuses to
 * boot), the send concurrency comes from SEND_CONCURRENCY, and the stats flush is scheduled (one job scheduler for
 * all workers: BullMQ runs it on one at a time).
 */
@Injectable()
export class DispatchWorkers implements OnApplicationBootstrap {
  constructor(
    private readonly plan: PlanProcessor,
    private readonly send: SendProcessor,
    private readonly stats: StatsProcessor,
    @InjectQueue(QueueName.Stats) private readonly statsQueue: Queue,
    @Inject(DISPATCH_OPTIONS) private readonly options: DispatchOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const byQueue: Record<string, string> = {
      [QueueName.Plan]: 'PlanProcessor',
      [QueueName.Send]: 'SendProcessor',
      [QueueName.Stats]: 'StatsProcessor',
    };
    for (const [name, handler] of Object.entries(JOB_HANDLERS) as Array<[JobName, string]>) {
      if (byQueue[JOB_QUEUE[name]] !== handler)
        throw new Error(`job ${name} goes to queue ${JOB_QUEUE[name]}, but its handler ${handler} does not listen there`);
    }
    this.send.worker.concurrency = this.options.sendConcurrency;
    this.plan.worker.concurrency = 4;
    await this.statsQueue.upsertJobScheduler(
      'flush-stats',
      { every: this.options.statsFlushMs },
      { name: 'flush-stats', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }
}
