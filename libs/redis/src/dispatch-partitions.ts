/**
 * Dispatch partitions: a campaign's per-device ledger and counters are split into `of` partitions (pinned per campaign
 * when its first wave is planned; libs/config dispatchPartitions), so on Redis Cluster its sending load spreads over
 * the masters instead of landing on the one slot of `{campaign:<id>}`.
 *
 * - Devices go to partitions by blocks of `block` consecutive ids: device `id` is in block `floor(id / block)`, and
 *   block `k` belongs to partition `k mod of`, for the whole campaign. Its bits live in that partition's bitmaps at
 *   offset `floor(k / of) * block + id mod block` (the bitmaps together take the memory one would). Every batch holds
 *   devices of one partition only, so each script runs in one slot.
 * - Why blocks: a batch's devices are then runs of consecutive ids (one or two runs of a dense audience), which
 *   PostgreSQL reads as id ranges, 3 to 4 times cheaper than looking 500 scattered ids up one by one (docs/benchmarks.md,
 *   dispatch, fifth pass). A campaign pinned before blocks has `block` 1: partition `id mod of`, offset `floor(id / of)`,
 *   the same formulas.
 * - Partition `p` of `of` has a hash tag whose slot lies in the p-th of `of` equal stretches of the 16,384 slots: a
 *   Cluster whose masters hold equal contiguous slot ranges (what `redis-cli --cluster create` makes) gets
 *   ⌈of / masters⌉ or ⌊of / masters⌋ partitions on each master, whatever the campaign.
 * - `of` = 1 is the layout before partitions: the campaign's own `{campaign:<id>}` keys, device id = bit offset.
 *
 * Pure functions: no Redis here (the key builder, libs/redis/src/keys.ts, names the keys).
 */

/** Redis Cluster's number of hash slots. */
export const CLUSTER_SLOTS = 16384;
/** At most this many partitions (DISPATCH_PARTITIONS's bound). */
export const MAX_PARTITIONS = 256;

/**
 * A partition must get at least this many full batches of the first wave: smaller campaigns get fewer partitions
 * (down to 1), so a partition's short last batch per wave adds at most a quarter to a wave's batches.
 */
export const MIN_BATCHES_PER_PARTITION = 4;

/**
 * The partitions a campaign is pinned to: `configured` (libs/config dispatchPartitions: DISPATCH_PARTITIONS, or by
 * the kind of Redis), or when its first wave is too small to give each MIN_BATCHES_PER_PARTITION batches, the
 * largest divisor of `configured` that does (so the partitions still split evenly over the masters `configured`
 * splits evenly over), down to 1.
 */
export function partitionsFor(firstWaveSize: number, batchSize: number, configured: number): number {
  const cap = Math.min(configured, MAX_PARTITIONS, Math.floor(firstWaveSize / (batchSize * MIN_BATCHES_PER_PARTITION)));
  for (let n = Math.max(1, cap); n > 1; n--) if (configured % n === 0) return n;
  return 1;
}

/** Consecutive device ids per block in the layout new campaigns are pinned to (see above). */
export const PARTITION_BLOCK = 1024;

/**
 * A partition of a campaign: index in 0…of-1, the campaign's partition count, and its block size (missing: 1, the
 * layout of a campaign pinned before blocks; a send job stores its batch's partition, so its own jobs keep theirs).
 */
export interface Partition {
  index: number;
  of: number;
  block?: number;
}

/** How a campaign's devices are spread over its partitions, as pinned: how many, and by blocks of how many ids. */
export interface PartitionLayout {
  of: number;
  block: number;
}

/** The layout before partitions (and of a campaign pinned to one). */
export const SINGLE_PARTITION: Partition = { index: 0, of: 1 };

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** The Cluster slot of a hash tag's text (CRC16-XMODEM mod 16384, as Redis computes it; ASCII text only). */
export function slotOfTag(tag: string): number {
  let crc = 0;
  for (let i = 0; i < tag.length; i++) crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ tag.charCodeAt(i)) & 0xff] as number);
  return crc % CLUSTER_SLOTS;
}

const tags = new Map<string, string>();

/** The hash tag text of partition `index` of `of` (without braces): `dp<index>.<n>`, its slot in the index-th stretch. */
export function partitionTag(index: number, of: number): string {
  checkPartition({ index, of });
  const cacheKey = `${index}/${of}`;
  const cached = tags.get(cacheKey);
  if (cached !== undefined) return cached;
  const from = Math.floor((index * CLUSTER_SLOTS) / of);
  const to = Math.floor(((index + 1) * CLUSTER_SLOTS) / of);
  // Each candidate lands in the stretch with probability 1/of: a few hundred tries at most for 256 partitions.
  for (let n = 0; n < 1_000_000; n++) {
    const tag = `dp${index}.${n}`;
    const slot = slotOfTag(tag);
    if (slot >= from && slot < to) {
      tags.set(cacheKey, tag);
      return tag;
    }
  }
  throw new Error(`no hash tag found for partition ${index} of ${of}`);
}

/** A block size a layout may have: a whole number of ids from 1 to 2^20. */
export function isBlock(block: number): boolean {
  return Number.isInteger(block) && block >= 1 && block <= 1 << 20;
}

export function checkPartition(p: Partition): Partition {
  if (!Number.isInteger(p.of) || p.of < 1 || p.of > MAX_PARTITIONS) throw new RangeError(`invalid partition count ${p.of}`);
  if (!Number.isInteger(p.index) || p.index < 0 || p.index >= p.of) throw new RangeError(`invalid partition ${p.index} of ${p.of}`);
  if (p.block !== undefined && !isBlock(p.block)) throw new RangeError(`invalid partition block ${p.block}`);
  return p;
}

/** The partition a device belongs to in a campaign split `of` ways by blocks of `block` ids. */
export function partitionOf(deviceId: string | number, of: number, block = 1): number {
  return Math.floor(Number(deviceId) / block) % of;
}

/** The device's bit offset in its partition's bitmaps. */
export function bitOffset(deviceId: string | number, of: number, block = 1): number {
  const id = Number(deviceId);
  return Math.floor(Math.floor(id / block) / of) * block + (id % block);
}

/** The device id at bit `offset` of partition `p` (the inverse of partitionOf and bitOffset). */
export function deviceAt(offset: number, p: Partition): string {
  const block = p.block ?? 1;
  return String((Math.floor(offset / block) * p.of + p.index) * block + (offset % block));
}

/** Partition `index` of a campaign laid out as `layout` (`block` left out when 1: jobs from before blocks look alike). */
export function partitionIn(index: number, layout: PartitionLayout): Partition {
  return layout.block === 1 ? { index, of: layout.of } : { index, of: layout.of, block: layout.block };
}

/** Groups items by their device's partition (in the order given within each), partitions in index order. */
export function byPartition<T>(items: readonly T[], of: number, idOf: (item: T) => string, block = 1): Map<number, T[]> {
  const groups = groupByPartition(items, of, idOf, block);
  const out = new Map<number, T[]>();
  for (let index = 0; index < of; index++) {
    const group = groups[index];
    if (group) out.set(index, group);
  }
  return out;
}

/** byPartition's groups as an array indexed by partition (a hole where none): a wave's 100,000 recipients at a time. */
function groupByPartition<T>(items: readonly T[], of: number, idOf: (item: T) => string, block: number): Array<T[] | undefined> {
  const groups = new Array<T[] | undefined>(of);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as T;
    const p = partitionOf(idOf(item), of, block);
    if (!(p >= 0 && p < of)) throw new RangeError(`device id ${JSON.stringify(idOf(item))} has no partition`);
    const group = groups[p];
    if (group) group.push(item);
    else groups[p] = [item];
  }
  return groups;
}

/**
 * A wave's recipients cut into batches of one partition each (at most `size`, each in id order as given), taken in
 * turn from every partition (p0's first, p1's first, …, p0's second, …), so the workers taking the queue's head work
 * on every partition at once. A partition's last batch may be short: a wave has at most `of` more batches than
 * ⌈n / size⌉.
 */
export function partitionBatches<T>(
  items: readonly T[],
  size: number,
  layout: PartitionLayout,
  idOf: (item: T) => string,
): Array<{ partition: Partition; items: T[] }> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('batch size must be a whole number, 1 or more');
  const { of } = layout;
  const groups = groupByPartition(items, of, idOf, layout.block);
  const out: Array<{ partition: Partition; items: T[] }> = [];
  for (let from = 0, left = true; left; from += size) {
    left = false;
    for (let index = 0; index < of; index++) {
      const group = groups[index];
      if (!group || from >= group.length) continue;
      out.push({ partition: partitionIn(index, layout), items: group.slice(from, from + size) });
      if (from + size < group.length) left = true;
    }
  }
  return out;
}

/**
 * Ascending device ids joined by commas, as a wave's page read as text (libs/database page-text.ts): id i is `text`
 * from `starts[i]` to `starts[i + 1] - 1`, its value `ids[i]`.
 */
export interface IdText {
  count: number;
  text: string;
  starts: Uint32Array;
  ids: Float64Array;
}

/** A batch cut from an IdText: its ids joined by commas, and which of the page's they are (`entries`: from, to pairs). */
export interface TextBatch {
  partition: Partition;
  ids: string;
  count: number;
  entries: number[];
}

/**
 * partitionBatches for ids given as text: the same batches in the same order (a partition's ids in turn, `size` at
 * most, p0's first, p1's first, …), each with its ids joined as slices of the text, one slice per run of the page's
 * ids that the batch takes whole (one for a campaign in one partition), with no string per id.
 */
export function partitionIdText(page: IdText, size: number, layout: PartitionLayout): TextBatch[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('batch size must be a whole number, 1 or more');
  const { of, block } = layout;
  // Each partition's batches, in order; a batch's entries as runs of consecutive indexes of the page.
  const groups: TextBatch[][] = Array.from({ length: of }, () => []);
  const open = new Array<TextBatch | undefined>(of);
  for (let i = 0; i < page.count; i++) {
    const p = of === 1 ? 0 : partitionOf(page.ids[i] as number, of, block);
    let batch = open[p];
    if (!batch) {
      batch = { partition: partitionIn(p, layout), ids: '', count: 0, entries: [] };
      (groups[p] as TextBatch[]).push(batch);
      open[p] = batch;
    }
    const runs = batch.entries;
    if (runs.length > 0 && runs[runs.length - 1] === i) runs[runs.length - 1] = i + 1;
    else runs.push(i, i + 1);
    if (++batch.count === size) open[p] = undefined;
  }
  const out: TextBatch[] = [];
  for (let k = 0, left = true; left; k++) {
    left = false;
    for (let p = 0; p < of; p++) {
      const batch = (groups[p] as TextBatch[])[k];
      if (!batch) continue;
      left = true;
      const slices: string[] = [];
      for (let r = 0; r < batch.entries.length; r += 2) {
        slices.push(page.text.slice(page.starts[batch.entries[r] as number], (page.starts[batch.entries[r + 1] as number] as number) - 1));
      }
      batch.ids = slices.length === 1 ? (slices[0] as string) : slices.join(',');
      out.push(batch);
    }
  }
  return out;
}
