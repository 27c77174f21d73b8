/**
 * How many dispatch partitions a new campaign is pinned to, and how many send queues there are, from
 * DISPATCH_PARTITIONS and the kind of Redis (docs/dispatch.md, "Partitions").
 *
 * Partitions exist to spread one campaign's keys and jobs over the masters of a Redis Cluster. On a single server
 * they only cost: each batch's record reads every partition's progress to decide the wave's end, the completion and
 * the guards (one `HMGET` each), and a campaign's jobs spread over as many queues. On the dispatch benchmark (issue
 * #12, docs/benchmarks.md, tenth pass) one partition sent 0.518 × the minimal pipeline's rate against 0.441 × for
 * twelve (medians of 5 interleaved pairs).
 *
 * The send queues stay 12 when DISPATCH_PARTITIONS is unset, whatever the Redis: a queue's name and hash tag are
 * data (libs/contracts), so a release that changed their number would orphan the jobs already waiting in them.
 */

/** Partitions a new campaign gets on Redis Cluster, and send queues, when DISPATCH_PARTITIONS is not set. */
export const DEFAULT_DISPATCH_PARTITIONS = 12;

export interface DispatchPartitioning {
  /** Partitions a new campaign is pinned to (at most: a small first wave gets fewer; libs/redis partitionsFor). */
  campaign: number;
  /** Partitioned send queues (`send-0` … `send-<n-1>`): every scheduler process must agree. */
  queues: number;
}

export function dispatchPartitions(config: {
  DISPATCH_PARTITIONS?: number;
  REDIS_CLUSTER_NODES?: readonly string[];
}): DispatchPartitioning {
  const set = config.DISPATCH_PARTITIONS;
  if (set !== undefined) return { campaign: set, queues: set };
  return { campaign: config.REDIS_CLUSTER_NODES ? DEFAULT_DISPATCH_PARTITIONS : 1, queues: DEFAULT_DISPATCH_PARTITIONS };
}
