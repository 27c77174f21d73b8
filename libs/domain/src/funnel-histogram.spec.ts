import { FUNNEL_BUCKETS, FUNNEL_BUCKET_UPPER_MS, funnelBucketOf, funnelHistogram, funnelQuantile } from './funnel-histogram';

describe('funnel histogram', () => {
  it('puts each duration in the bucket whose bounds hold it', () => {
    expect(FUNNEL_BUCKET_UPPER_MS.slice(0, 4)).toEqual([250, 354, 500, 707]);
    expect(funnelBucketOf(0)).toBe(0);
    expect(funnelBucketOf(-5)).toBe(0);
    expect(funnelBucketOf(249)).toBe(0);
    expect(funnelBucketOf(250)).toBe(1);
    expect(funnelBucketOf(1000)).toBe(5);
    expect(funnelBucketOf(999)).toBe(4);
    expect(funnelBucketOf(1e12)).toBe(FUNNEL_BUCKETS - 1);
    expect(funnelBucketOf(Number.NaN)).toBe(0);
    for (let i = 1; i < FUNNEL_BUCKET_UPPER_MS.length; i++)
      expect(FUNNEL_BUCKET_UPPER_MS[i]).toBeGreaterThan(FUNNEL_BUCKET_UPPER_MS[i - 1]!);
  });

  it('tells p50 and p95 within the bucket they fall in', () => {
    const counts: number[] = [];
    const add = (ms: number) => (counts[funnelBucketOf(ms)] = (counts[funnelBucketOf(ms)] ?? 0) + 1);
    for (let i = 0; i < 95; i++) add(10_000);
    for (let i = 0; i < 5; i++) add(120_000);
    const h = funnelHistogram(counts);
    expect(h.samples).toBe(100);
    const p50 = funnelQuantile(h, 0.5)!;
    expect(p50).toBeGreaterThanOrEqual(10_000 / Math.SQRT2);
    expect(p50).toBeLessThanOrEqual(10_000 * Math.SQRT2);
    const p95 = funnelQuantile(h, 0.95)!;
    expect(p95).toBeLessThanOrEqual(10_000 * Math.SQRT2);
    expect(funnelQuantile(h, 0.99)!).toBeGreaterThanOrEqual(120_000 / Math.SQRT2);
    expect(funnelQuantile(funnelHistogram([]), 0.5)).toBeNull();
  });

  it('reads garbage counts as zero', () => {
    const h = funnelHistogram([1, -3, Number.NaN, 2.5, 4]);
    expect(h.counts.slice(0, 5)).toEqual([1, 0, 0, 0, 4]);
    expect(h.samples).toBe(5);
    expect(h.counts).toHaveLength(FUNNEL_BUCKETS);
    expect(h.upperMs[FUNNEL_BUCKETS - 1]).toBeNull();
  });
});
