/**
 * Reading a partitioned campaign back as one (dispatch-partitions.ts): the campaign's own stats hash holds what the
 * planner and the lifecycle write (targeted, waves, last_wave, w<k>:targeted, w<k>:finished_at, status, …, and
 * `partitions`: the pinned count); each partition's stats hash holds its share of the outcome counters (sent,
 * w<k>:settled, recent_*, …). Counters are summed over the partitions, `progress_at` is the latest.
 */
import type { RedisClient } from './connection';
import { isBlock, MAX_PARTITIONS, type Partition, type PartitionLayout } from './dispatch-partitions';
import type { RedisKeys } from './keys';

/**
 * The campaign's pinned layout from its stats hash's `partitions` field: `<of>` (by single ids: pinned before blocks)
 * or `<of>/<block>`; missing: 1, the layout before partitions. Both in one field, so one HSETNX pins them together.
 */
export function pinnedLayout(value: string | null | undefined): PartitionLayout {
  if (value === null || value === undefined) return { of: 1, block: 1 };
  const [ofText, blockText, ...rest] = value.split('/');
  const of = Number(ofText);
  const block = blockText === undefined ? 1 : Number(blockText);
  if (rest.length > 0 || !Number.isInteger(of) || of < 1 || of > MAX_PARTITIONS || !isBlock(block) || blockText === '') {
    throw new Error(`invalid pinned partitions ${JSON.stringify(value)}`);
  }
  return { of, block };
}

/** The spelling of a layout in the `partitions` field (pinnedLayout reads it back). */
export function layoutField(layout: PartitionLayout): string {
  return layout.block === 1 ? String(layout.of) : `${layout.of}/${layout.block}`;
}

/** The campaign's pinned partition count (see pinnedLayout). */
export function pinnedPartitions(value: string | null | undefined): number {
  return pinnedLayout(value).of;
}

/** Every partition of a campaign split `of` ways. */
export function partitionsUpTo(of: number): Partition[] {
  return Array.from({ length: of }, (_, index) => ({ index, of }));
}

/** Fields whose merged value is the latest of the partitions', not their sum. */
const LATEST = new Set(['progress_at']);

/** The campaign's stats hash with every partition's counters merged into it (what the flush and the stats route read). */
export async function readStatsHash(redis: RedisClient, keys: RedisKeys, campaignId: string): Promise<Record<string, string>> {
  const own = await redis.hgetall(keys.campaign(campaignId).stats);
  const of = pinnedPartitions(own.partitions);
  if (of === 1) return own;
  const parts = await Promise.all(partitionsUpTo(of).map((p) => redis.hgetall(keys.campaignPartition(campaignId, p).stats)));
  const merged: Record<string, number> = {};
  for (const hash of parts) {
    for (const [field, value] of Object.entries(hash)) {
      const n = Number(value);
      if (!Number.isFinite(n)) continue;
      merged[field] = LATEST.has(field) ? Math.max(merged[field] ?? 0, n) : (merged[field] ?? 0) + n;
    }
  }
  const out: Record<string, string> = { ...own };
  for (const [field, n] of Object.entries(merged)) {
    out[field] = String(LATEST.has(field) && own[field] !== undefined ? Math.max(Number(own[field]), n) : n);
  }
  return out;
}

/** `fields` of every partition's stats hash, summed (one HMGET per partition, concurrently). */
export async function sumPartitionFields(
  redis: RedisClient,
  keys: RedisKeys,
  campaignId: string,
  of: number,
  fields: readonly string[],
): Promise<number[]> {
  const replies = await Promise.all(partitionsUpTo(of).map((p) => redis.hmget(keys.campaignPartition(campaignId, p).stats, ...fields)));
  return fields.map((_, i) => replies.reduce((sum, reply) => sum + Number(reply[i] ?? 0), 0));
}

/** A command by its client method's name (a built-in, or a script defined with defineScript) and its arguments. */
export type Command = readonly [name: string, ...args: Array<string | number | Buffer>];

/**
 * Runs `first`, then `then` (each command of `then` after every command of `first`, so it sees their writes), and
 * returns every reply in order (the first error is thrown). On a standalone server both go out at once, as one
 * pipeline: one write and one read on each side, the order kept by the connection (a round trip costs Redis more CPU
 * than most commands do). On a Cluster, `first` concurrently (each to its node), then `then` (a pipeline there must
 * stay on one node, and commands on different nodes keep no order).
 */
export async function atOnce(redis: RedisClient, first: readonly Command[], then: readonly Command[] = []): Promise<unknown[]> {
  if (redis.isCluster) {
    const client = redis as unknown as Record<string, (...a: Array<string | number | Buffer>) => Promise<unknown>>;
    const run = (commands: readonly Command[]) =>
      Promise.all(
        commands.map(([name, ...args]) =>
          (client[name] as (...a: Array<string | number | Buffer>) => Promise<unknown>).call(redis, ...args),
        ),
      );
    const before = await run(first);
    return then.length === 0 ? before : [...before, ...(await run(then))];
  }
  const pipeline = redis.pipeline();
  const queue = pipeline as unknown as Record<string, (...a: Array<string | number | Buffer>) => unknown>;
  for (const [name, ...args] of [...first, ...then])
    (queue[name] as (...a: Array<string | number | Buffer>) => unknown).call(pipeline, ...args);
  const results = (await pipeline.exec()) ?? [];
  const error = results.find(([err]) => err)?.[0];
  if (error) throw error;
  return results.map(([, value]) => value);
}
