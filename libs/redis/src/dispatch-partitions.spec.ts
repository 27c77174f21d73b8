import calculateSlot from 'cluster-key-slot';
import fc from 'fast-check';
import { layoutField, pinnedLayout, pinnedPartitions } from './dispatch-merge';
import {
  bitOffset,
  CLUSTER_SLOTS,
  deviceAt,
  type IdText,
  PARTITION_BLOCK,
  partitionBatches,
  partitionIdText,
  partitionOf,
  partitionsFor,
  partitionTag,
  slotOfTag,
} from './dispatch-partitions';
import { RedisKeys } from './keys';

/** Ascending ids as a page's text (libs/database page-text.ts makes it from PostgreSQL's value). */
function idText(ids: readonly number[]): IdText {
  const starts = new Uint32Array(ids.length + 1);
  let at = 0;
  ids.forEach((id, i) => {
    at += String(id).length + 1;
    starts[i + 1] = at;
  });
  return { count: ids.length, text: ids.join(','), starts, ids: Float64Array.from(ids) };
}

const BY_ID = (of: number) => ({ of, block: 1 });

describe('dispatch partitions', () => {
  it('computes the slot of a hash tag as Redis does', () => {
    for (const tag of ['bull', 'limits', 'campaign:0b6c3f4e-1d2a-4c1e-9a57-3f1f2b7d9c10', 'dp3.17', 'a', '123456789']) {
      expect(slotOfTag(tag)).toBe(calculateSlot(tag));
    }
  });

  it.each([1, 2, 3, 16, 100, 256])('gives each of %i partitions a tag in its own stretch of the slots', (of) => {
    const slots = Array.from({ length: of }, (_, p) => slotOfTag(partitionTag(p, of)));
    slots.forEach((slot, p) => {
      expect(slot).toBeGreaterThanOrEqual(Math.floor((p * CLUSTER_SLOTS) / of));
      expect(slot).toBeLessThan(Math.floor(((p + 1) * CLUSTER_SLOTS) / of));
    });
    // 3 masters with equal slot ranges: no master holds more than ceil(of / 3) of them.
    const perMaster = [0, 0, 0];
    for (const slot of slots) perMaster[Math.min(2, Math.floor(slot / Math.ceil(CLUSTER_SLOTS / 3)))]!++;
    expect(Math.max(...perMaster)).toBeLessThanOrEqual(Math.ceil(of / 3) + 1);
  });

  it('puts every key of one partition in one slot, partitions apart, and keeps one partition the campaign’s own keys', () => {
    const keys = new RedisKeys('tidegate');
    const id = '0b6c3f4e-1d2a-4c1e-9a57-3f1f2b7d9c10';
    const slots = Array.from({ length: 16 }, (_, index) => {
      const part = keys.campaignPartition(id, { index, of: 16 });
      const own = new Set(Object.values(part).map((k) => calculateSlot(k)));
      expect(own.size).toBe(1);
      return [...own][0];
    });
    expect(new Set(slots).size).toBe(16);
    expect(keys.campaignPartition(id, { index: 0, of: 1 })).toMatchObject({
      settled: keys.campaign(id).settled,
      stats: keys.campaign(id).stats,
      sends: keys.campaign(id).sends,
    });
    expect(() => keys.campaignPartition(id, { index: 16, of: 16 })).toThrow(/invalid partition/);
    expect(() => keys.campaignPartition(id, { index: 0, of: 0 })).toThrow(/invalid partition count/);
  });

  it('maps a device to a partition and a bit offset, and back', () => {
    for (const id of ['0', '1', '15', '16', '4294967295', '123456789']) {
      const p = { index: partitionOf(id, 16), of: 16 };
      expect(deviceAt(bitOffset(id, 16), p)).toBe(id);
    }
    expect(bitOffset('37', 1)).toBe(37);
    expect(partitionOf('37', 1)).toBe(0);
  });

  it('cuts a wave into batches of one partition each, the partitions in turn, every device once', () => {
    const ids = Array.from({ length: 23 }, (_, i) => String(100 + i));
    const batches = partitionBatches(ids, 3, BY_ID(4), (id) => id);
    for (const b of batches) {
      expect(b.items.length).toBeLessThanOrEqual(3);
      expect(b.items.every((id) => partitionOf(id, 4) === b.partition.index)).toBe(true);
    }
    expect(batches.flatMap((b) => b.items).sort()).toEqual([...ids].sort());
    expect(batches.slice(0, 4).map((b) => b.partition.index)).toEqual([0, 1, 2, 3]);
    expect(batches.map((b) => b.items.length)).toEqual([3, 3, 3, 3, 3, 3, 3, 2]);
    // One partition: the plain chunks.
    expect(partitionBatches(ids, 10, BY_ID(1), (id) => id).map((b) => b.items.length)).toEqual([10, 10, 3]);
    expect(partitionBatches([], 10, BY_ID(16), (id: string) => id)).toEqual([]);
    // Pinned before blocks: the jobs' partitions look as they did (no block).
    expect(batches[0]?.partition).toEqual({ index: 0, of: 4 });
    // An id whose partition would not be one of the campaign's (not a number, negative): refused, never a batch of
    // partition NaN or -1.
    for (const bad of ['x', '-5']) {
      expect(() => partitionBatches(['1', bad], 10, BY_ID(4), (id) => id)).toThrow(/has no partition/);
    }
  });

  it('with blocks, maps every device to one partition and one offset, and back; block 1 is the layout by single ids', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 4096 }),
        (id, of, block) => {
          const index = partitionOf(id, of, block);
          expect(index).toBe(Math.floor(id / block) % of);
          expect(deviceAt(bitOffset(id, of, block), { index, of, block })).toBe(String(id));
          expect(partitionOf(id, of, 1)).toBe(id % of);
          expect(bitOffset(id, of, 1)).toBe(Math.floor(id / of));
          expect(deviceAt(bitOffset(id, of), { index: id % of, of })).toBe(String(id));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('with blocks, fills each partition’s bitmaps densely: 3 blocks each, offsets 0 to 3 blocks, each once', () => {
    const of = 12;
    const block = 16;
    const offsets = Array.from({ length: of }, () => new Set<number>());
    for (let id = 0; id < of * block * 3; id++) offsets[partitionOf(id, of, block)]?.add(bitOffset(id, of, block));
    for (const set of offsets) expect([...set].sort((a, b) => a - b)).toEqual(Array.from({ length: 3 * block }, (_, i) => i));
  });

  it('with blocks, cuts a dense wave into batches of consecutive ids, at most two runs each, the block in each job', () => {
    const layout = { of: 12, block: PARTITION_BLOCK };
    const ids = Array.from({ length: 100_000 }, (_, i) => String(777 + i));
    const batches = partitionBatches(ids, 500, layout, (id) => id);
    expect(batches.flatMap((b) => b.items).sort()).toEqual([...ids].sort());
    for (const b of batches) {
      expect(b.partition).toEqual({ index: b.partition.index, of: 12, block: PARTITION_BLOCK });
      expect(b.items.every((id) => partitionOf(id, 12, PARTITION_BLOCK) === b.partition.index)).toBe(true);
      let runs = 1;
      for (let i = 1; i < b.items.length; i++) if (Number(b.items[i]) !== Number(b.items[i - 1]) + 1) runs++;
      expect(runs).toBeLessThanOrEqual(2);
    }
    // Every partition gets its share of the wave's batches (8 or 9 blocks each).
    const perPartition = new Map<number, number>();
    for (const b of batches) perPartition.set(b.partition.index, (perPartition.get(b.partition.index) ?? 0) + b.items.length);
    expect(Math.max(...perPartition.values()) / Math.min(...perPartition.values())).toBeLessThanOrEqual(9 / 8 + 0.01);
  });

  it('reads the pinned layout: a count alone (pinned before blocks) or count/block, and refuses anything else', () => {
    expect(pinnedLayout(null)).toEqual({ of: 1, block: 1 });
    expect(pinnedLayout('12')).toEqual({ of: 12, block: 1 });
    expect(pinnedLayout('12/1024')).toEqual({ of: 12, block: 1024 });
    expect(pinnedPartitions('12/1024')).toBe(12);
    expect(layoutField({ of: 12, block: 1024 })).toBe('12/1024');
    expect(layoutField({ of: 12, block: 1 })).toBe('12');
    for (const bad of ['', 'x', '0', '257', '12/', '12/0', '12/1.5', '12/1024/2', '/1024', '12/2000000']) {
      expect(() => pinnedLayout(bad)).toThrow('invalid pinned partitions');
    }
  });

  it('pins fewer partitions for a small first wave', () => {
    expect(partitionsFor(100_000, 500, 12)).toBe(12);
    expect(partitionsFor(100_000, 500, 16)).toBe(16);
    expect(partitionsFor(500, 100, 12)).toBe(1);
    expect(partitionsFor(3, 2, 12)).toBe(1);
    expect(partitionsFor(48, 1, 12)).toBe(12);
    // Capped at 10 by the wave: the largest divisor of the configured count below it.
    expect(partitionsFor(20_000, 500, 12)).toBe(6);
    expect(partitionsFor(20_000, 500, 16)).toBe(8);
    expect(partitionsFor(9 * 2000, 500, 12)).toBe(6);
    expect(partitionsFor(5 * 2000, 500, 7)).toBe(1);
    expect(partitionsFor(100_000, 500, 1)).toBe(1);
  });

  it('cuts ids given as text into the very batches partitionBatches cuts, each batch’s ids as slices of the text', () => {
    fc.assert(
      fc.property(
        // Ascending ids with gaps of any size (a sparse segment) or none (a dense one).
        fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 400 }).map((gaps) => {
          let id = 0;
          return gaps.map((g) => (id += g > 2000 ? 1 : g));
        }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 13 }),
        fc.constantFrom(1, 4, 64, 1024),
        (ids, size, of, block) => {
          const layout = { of, block };
          const expected = partitionBatches(ids.map(String), size, layout, (id) => id);
          const page = idText(ids);
          const actual = partitionIdText(page, size, layout);
          expect(actual.map((b) => ({ partition: b.partition, ids: b.ids, count: b.count }))).toEqual(
            expected.map((b) => ({ partition: b.partition, ids: b.items.join(','), count: b.items.length })),
          );
          // `entries` are the page's indexes of the batch's ids, in order.
          for (const [k, b] of actual.entries()) {
            const picked: number[] = [];
            for (let r = 0; r < b.entries.length; r += 2)
              for (let i = b.entries[r] as number; i < (b.entries[r + 1] as number); i++) picked.push(ids[i] as number);
            expect(picked.map(String)).toEqual(expected[k]?.items);
          }
        },
      ),
      { numRuns: 500 },
    );
    // A dense wave in one partition: one slice per batch.
    const dense = idText(Array.from({ length: 1250 }, (_, i) => 1000 + i));
    expect(partitionIdText(dense, 500, { of: 1, block: 1 }).map((b) => b.entries)).toEqual([
      [0, 500],
      [500, 1000],
      [1000, 1250],
    ]);
    expect(partitionIdText(idText([]), 500, { of: 12, block: 1024 })).toEqual([]);
    expect(() => partitionIdText(dense, 0, { of: 1, block: 1 })).toThrow(RangeError);
  });
});
