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

/**
 * The send queues of the dispatch partitions: `send-0` … `send-<n-1>` (n: libs/config dispatchPartitions), each under
 * its own hash tag, the one of the ledger partition with that index (RedisKeys.sendQueuePrefix), so on Redis Cluster the
 * queues spread over the masters as the ledger does. A batch of partition i of a campaign goes to `send-<i mod n>`.
 * `send` (QueueName.Send, under `{bull}`) is the queue from before partitions: still registered and worked, so jobs
 * queued before an upgrade drain; new jobs never go there. Changing n orphans the jobs waiting in the send queues
 * (each one's hash tag depends on n): drain them first (docs/dispatch.md, "Partitions").
 */
export const sendQueueName = (q: number): string => `send-${q}`;

export function sendQueueNames(n: number): string[] {
  return Array.from({ length: n }, (_, q) => sendQueueName(q));
}

/** Job names per queue, and each job's payload: `JobPayload<'plan-wave'>` gives the payload type. */
export interface JobPayloads {
  /**
   * Materialise wave `wave` of a campaign when it is due (`dueAt`, ms since the epoch): the plan's time, before any
   * wait for the send window, the room or the previous wave. `note` says why it waited (`window`, `room_pressure`,
   * `previous_wave`), for the wave's checkpoint.
   */
  'plan-wave': { campaignId: string; wave: number; dueAt: number; note?: string };
  /**
   * Send one batch (at most 500 device ids, as decimal strings, in id order) of a wave. `attempt` counts provider
   * retries of these recipients (0: first send); `batch` is the batch's number in its wave.
   */
  'send-batch': {
    campaignId: string;
    wave: number;
    batch: number;
    deviceIds: string[];
    attempt: number;
    /** How many of the devices are on each platform (as planned): the rate limits are taken before any read. */
    platforms: { fcm: number; apns: number; webpush: number };
    /**
     * The dispatch partition every device of the batch belongs to (block `floor(id / block)` mod `of`;
     * docs/dispatch.md, "Partitions"): its ledger and counters live in that partition's keys. `block` missing: 1 (a
     * campaign pinned before blocks: id mod `of`). Missing (a job queued before partitions): 0 of 1.
     */
    partition?: { index: number; of: number; block?: number };
  };
  /** Write campaign counters from Redis to PostgreSQL (write-behind): the campaigns marked dirty, or this one. */
  'flush-stats': { campaignId?: string };
}

export type JobName = keyof JobPayloads;
export type JobPayload<N extends JobName> = JobPayloads[N];

/**
 * A send batch as its BullMQ job stores it: `deviceIds` joined by commas into one string (`"17,29,41"`), the rest as
 * in JobPayloads. A job queued before this spelling holds them as an array; both are read (`readSendBatch`). Why:
 * BullMQ parses each job's JSON in the worker, and V8's JSON.parse interns every string of up to 10 characters, which
 * is what a device id is: 500 of them cost 110-130 µs a batch to parse (interned strings are also made in the old
 * generation, so a campaign's million ids churn it), one 4 KB string and a split about 15 µs.
 *
 * A batch whose partition has a block (a campaign laid out by blocks of consecutive ids, libs/redis
 * dispatch-partitions.ts) keeps its ids under `ids` instead: a worker from before blocks reads `deviceIds`, finds
 * none, and fails the job (at `deviceIds.length`, before its rate limits, its ledger check or any send), where it would
 * otherwise check and record the batch's ledger bits at the offsets of the layout by single ids. The job is retried
 * and taken by a worker that knows blocks.
 */
export type StoredSendBatch = Omit<JobPayloads['send-batch'], 'deviceIds'> &
  ({ deviceIds: string | string[]; ids?: undefined } | { ids: string | string[]; deviceIds?: undefined });

/**
 * A send batch whose ids come joined already (the planner's batches are slices of the wave's page read as text, libs/
 * database page-text.ts): `joinedIds` is decimal ids in id order, separated by commas, as StoredSendBatch spells them.
 */
export type JoinedSendBatch = Omit<JobPayloads['send-batch'], 'deviceIds'> & { joinedIds: string };

/** The stored spelling of a send batch (see StoredSendBatch); ids that cannot be joined (empty, or with a comma) stay an array. */
export function storeSendBatch(data: JobPayloads['send-batch'] | JoinedSendBatch): StoredSendBatch {
  let ids: string | string[];
  let rest: Omit<JobPayloads['send-batch'], 'deviceIds'>;
  if ('joinedIds' in data) {
    const { joinedIds, ...others } = data;
    if (!JOINED_IDS.test(joinedIds))
      throw new Error(`a batch's joined ids must be decimal ids separated by commas, got ${JSON.stringify(joinedIds.slice(0, 40))}`);
    [ids, rest] = [joinedIds, others];
  } else {
    const { deviceIds, ...others } = data;
    ids = deviceIds;
    if (deviceIds.length > 0 && deviceIds.every((id) => id.length > 0 && !id.includes(','))) ids = deviceIds.join(',');
    rest = others;
  }
  return data.partition?.block !== undefined ? { ...rest, ids } : { ...rest, deviceIds: ids };
}

/** Decimal ids joined by commas (at least one). */
const JOINED_IDS = /^[0-9]+(?:,[0-9]+)*$/;

/** A send batch from its stored spelling, any of them (see StoredSendBatch); the payload's other fields as stored. */
export function readSendBatch(stored: StoredSendBatch): JobPayloads['send-batch'] {
  const { ids: underIds, deviceIds: under, ...rest } = stored;
  const ids = underIds ?? under ?? [];
  return { ...rest, deviceIds: typeof ids !== 'string' ? ids : ids.length === 0 ? [] : ids.split(',') };
}

export const JOB_QUEUE: { readonly [N in JobName]: QueueName } = {
  'plan-wave': QueueName.Plan,
  'send-batch': QueueName.Send,
  'flush-stats': QueueName.Stats,
};
