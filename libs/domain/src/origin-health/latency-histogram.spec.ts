import { emptyHistogram, LATENCY_BUCKET_COUNT, latencyBucket, percentileMs } from './latency-histogram';

function histogramOf(latenciesMs: number[]): number[] {
  const h = emptyHistogram();
  for (const ms of latenciesMs) h[latencyBucket(ms)]!++;
  return h;
}

describe('latency histogram', () => {
  it('puts a latency in the first bucket whose bound is at or above it, and very slow ones in the last', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(5)).toBe(0);
    expect(latencyBucket(6)).toBe(1);
    expect(latencyBucket(2000)).toBe(8);
    expect(latencyBucket(60_000)).toBe(LATENCY_BUCKET_COUNT - 1);
  });

  it('has no percentile when empty', () => {
    expect(percentileMs(emptyHistogram(), 0.95)).toBeNull();
  });

  it('estimates p50, p95 and p99 within the bucket that holds them', () => {
    // 90 fast answers (~20 ms), 8 slow (~1.5 s), 2 very slow (~4 s).
    const h = histogramOf([...Array<number>(90).fill(20), ...Array<number>(8).fill(1500), 4000, 4000]);
    const p50 = percentileMs(h, 0.5)!;
    const p95 = percentileMs(h, 0.95)!;
    const p99 = percentileMs(h, 0.99)!;
    expect(p50).toBeGreaterThan(10);
    expect(p50).toBeLessThanOrEqual(25);
    expect(p95).toBeGreaterThan(1000);
    expect(p95).toBeLessThanOrEqual(2000);
    expect(p99).toBeGreaterThan(2000);
    expect(p99).toBeLessThanOrEqual(5000);
  });

  it('reports the last bound for latencies past it (at least that slow)', () => {
    expect(percentileMs(histogramOf([30_000, 30_000]), 0.5)).toBe(10_000);
  });

  it('gives the median of one sample as inside its bucket', () => {
    expect(percentileMs(histogramOf([300]), 0.5)).toBe(500);
  });
});
