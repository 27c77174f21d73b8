import calculateSlot from 'cluster-key-slot';
import {
  bitOffset,
  CLUSTER_SLOTS,
  deviceAt,
  partitionBatches,
  partitionOf,
  partitionsFor,
  partitionTag,
  slotOfTag,
} from './dispatch-partitions';
import { RedisKeys } from './keys';

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
    const batches = partitionBatches(ids, 3, 4, (id) => id);
    for (const b of batches) {
      expect(b.items.length).toBeLessThanOrEqual(3);
      expect(b.items.every((id) => partitionOf(id, 4) === b.partition.index)).toBe(true);
    }
    expect(batches.flatMap((b) => b.items).sort()).toEqual([...ids].sort());
    expect(batches.slice(0, 4).map((b) => b.partition.index)).toEqual([0, 1, 2, 3]);
    expect(batches.map((b) => b.items.length)).toEqual([3, 3, 3, 3, 3, 3, 3, 2]);
    // One partition: the plain chunks.
    expect(partitionBatches(ids, 10, 1, (id) => id).map((b) => b.items.length)).toEqual([10, 10, 3]);
    expect(partitionBatches([], 10, 16, (id: string) => id)).toEqual([]);
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
});
