/**
 * A small fixed-bucket latency histogram: what a gateway keeps per room per second, and what the releaser sums over
 * the sliding window (its own seconds and other gateways' from Redis). Percentiles are estimated by linear
 * interpolation inside the bucket that holds the rank, so memory per room is a handful of integers per second
 * whatever the traffic.
 */

/** Upper bounds of the buckets, in milliseconds; a last, unbounded bucket follows them. */
export const LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10000];
/** Buckets per histogram: one per bound, and one for anything slower than the last bound. */
export const LATENCY_BUCKET_COUNT = LATENCY_BUCKETS_MS.length + 1;

/** The bucket a latency falls into (the first whose bound is at or above it). */
export function latencyBucket(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]!) return i;
  return LATENCY_BUCKETS_MS.length;
}

/** A histogram of zeros. */
export const emptyHistogram = (): number[] => new Array<number>(LATENCY_BUCKET_COUNT).fill(0);

/**
 * The latency at quantile `q` (0..1) of a histogram, in ms; null when it is empty. Inside a bucket the samples are
 * taken as spread evenly between its lower and upper bound; the unbounded last bucket reports the last bound (the
 * estimate is "at least this slow").
 */
export function percentileMs(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i]!;
      return Math.round(lower + ((upper - lower) * (rank - below)) / n);
    }
    below += n;
  }
  return null;
}
