/**
 * The campaign funnel's durations (time in the queue, the delay from send to tap), as small histograms with fixed
 * logarithmic buckets: a few dozen counters per campaign whatever its size, added up atomically in Redis, and enough
 * to tell p50/p95 within a bucket (bounds grow by √2) and to fit the open-delay model from the raw counts.
 *
 * Bucket i (0 ≤ i < FUNNEL_BUCKETS − 1) holds durations d with lower(i) ≤ d < upper(i), upper(i) = round(250 ms ·
 * 2^(i/2)), lower(0) = 0; the last bucket holds everything from upper(FUNNEL_BUCKETS − 2) (about 36 hours) on.
 */

export const FUNNEL_BUCKETS = 40;
const FIRST_UPPER_MS = 250;

/** The exclusive upper bound of every bucket but the last, in ms (length FUNNEL_BUCKETS − 1, increasing). */
export const FUNNEL_BUCKET_UPPER_MS: readonly number[] = Array.from({ length: FUNNEL_BUCKETS - 1 }, (_, i) =>
  Math.round(FIRST_UPPER_MS * 2 ** (i / 2)),
);

/** The bucket a duration (ms) falls in; negative durations (clock skew) count as 0. */
export function funnelBucketOf(ms: number): number {
  const d = Number.isFinite(ms) ? Math.max(0, ms) : 0;
  let lo = 0;
  let hi = FUNNEL_BUCKET_UPPER_MS.length; // the overflow bucket
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (d < FUNNEL_BUCKET_UPPER_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A histogram's raw counts: `counts[i]` durations fell in bucket i; `upperMs[i]` is its bound (null: the last). */
export interface FunnelHistogram {
  counts: number[];
  upperMs: Array<number | null>;
  samples: number;
}

export function funnelHistogram(counts: readonly number[]): FunnelHistogram {
  const full = Array.from({ length: FUNNEL_BUCKETS }, (_, i) => {
    const n = counts[i] ?? 0;
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  });
  return {
    counts: full,
    upperMs: Array.from({ length: FUNNEL_BUCKETS }, (_, i) => FUNNEL_BUCKET_UPPER_MS[i] ?? null),
    samples: full.reduce((a, b) => a + b, 0),
  };
}

/**
 * The q-quantile (0 < q ≤ 1) in ms, interpolated linearly inside its bucket; in the last (open) bucket its lower
 * bound. Null without samples.
 */
export function funnelQuantile(histogram: FunnelHistogram, q: number): number | null {
  if (histogram.samples === 0) return null;
  const rank = Math.min(Math.max(q, 0), 1) * histogram.samples;
  let seen = 0;
  for (let i = 0; i < FUNNEL_BUCKETS; i++) {
    const n = histogram.counts[i] ?? 0;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const lower = i === 0 ? 0 : FUNNEL_BUCKET_UPPER_MS[i - 1]!;
      const upper = FUNNEL_BUCKET_UPPER_MS[i];
      if (upper === undefined) return lower;
      return Math.round(lower + ((upper - lower) * (rank - seen)) / n);
    }
    seen += n;
  }
  return FUNNEL_BUCKET_UPPER_MS[FUNNEL_BUCKET_UPPER_MS.length - 1]!;
}
