/**
 * BullMQ queues and their jobs: the only place queue names, job names and payload types are defined.
 *
 * A queue name is part of the data in Redis: renaming one orphans every job already waiting under the old name.
 * Never rename or remove a queue without a migration plan (drain the old queue with both names registered first).
 */
export enum QueueName {
  /** Materialises a campaign's next wave by keyset pagination over devices. */
  Plan = 'plan',
  /** Sends one batch (at most 500 recipients) to one push provider. */
  Send = 'send',
  /** Flushes Redis counters to PostgreSQL (write-behind). */
  Stats = 'stats',
}

export const QUEUE_NAMES: readonly QueueName[] = Object.values(QueueName);

/** Job names per queue, and each job's payload: `JobPayload<'plan-wave'>` gives the payload type. */
export interface JobPayloads {
  'plan-wave': { campaignId: string; wave: number };
  'send-batch': { campaignId: string; wave: number; batch: number; deviceIds: string[] };
  'flush-stats': { campaignId?: string };
}

export type JobName = keyof JobPayloads;
export type JobPayload<N extends JobName> = JobPayloads[N];

export const JOB_QUEUE: { readonly [N in JobName]: QueueName } = {
  'plan-wave': QueueName.Plan,
  'send-batch': QueueName.Send,
  'flush-stats': QueueName.Stats,
};
