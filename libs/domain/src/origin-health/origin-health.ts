/**
 * Is a room's origin healthy? Judged once a second from the sliding window of what the gateways measured (requests,
 * latency histogram, 5xx answers, connection errors), by the room's thresholds, with hysteresis: it turns unhealthy
 * as soon as a window with enough requests breaches a threshold, and healthy again only once the window has stayed
 * within every threshold (or had too few requests to judge) for `recoverMs`.
 */
import { percentileMs } from './latency-histogram';

/** The kinds of failure counted apart from latency. */
export const ORIGIN_ERROR_KINDS = ['status_5xx', 'refused', 'reset', 'timeout', 'other'] as const;
export type OriginErrorKind = (typeof ORIGIN_ERROR_KINDS)[number];

/** What the gateways measured of one origin over the window (summed over gateways and seconds). */
export interface OriginWindow {
  /** Answers and failures: every request the proxy sent (a connection error counts as a request that failed). */
  requests: number;
  /** Latency histogram of the answered requests (LATENCY_BUCKETS_MS). */
  latency: readonly number[];
  errors: Record<OriginErrorKind, number>;
}

export interface OriginThresholds {
  /** The p95 latency above which the origin is unhealthy, in ms. */
  maxP95Ms: number;
  /** The share of requests (0..1) failing (5xx or connection error) above which it is unhealthy. */
  maxErrorRate: number;
  /** Fewer requests than this in the window: not enough to judge (counts as within the thresholds). */
  minRequests: number;
}

/** How long the window must stay within the thresholds before an unhealthy origin is healthy again. */
export const ORIGIN_RECOVER_MS = 10_000;

/** Why an origin is unhealthy. */
export type OriginUnhealthyReason = 'latency' | 'errors';

export interface OriginHealth {
  healthy: boolean;
  /** Since when (ms since the epoch) `healthy` has had its present value. */
  since: number;
  /** While unhealthy: since when the window has been within the thresholds (recovering), or null. */
  calmSince: number | null;
  /** What broke the thresholds last (kept while unhealthy), null while healthy. */
  reason: OriginUnhealthyReason | null;
  requests: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Failed requests over requests in the window (0 when there were none). */
  errorRate: number;
}

export const emptyOriginWindow = (): OriginWindow => ({
  requests: 0,
  latency: [],
  errors: { status_5xx: 0, refused: 0, reset: 0, timeout: 0, other: 0 },
});

/** What in the window breaks the thresholds, if anything (null also when there are too few requests to judge). */
export function originBreach(window: OriginWindow, thresholds: OriginThresholds): OriginUnhealthyReason | null {
  if (window.requests < Math.max(1, thresholds.minRequests)) return null;
  const failed = Object.values(window.errors).reduce((a, b) => a + b, 0);
  if (failed / window.requests > thresholds.maxErrorRate) return 'errors';
  const p95 = percentileMs(window.latency, 0.95);
  if (p95 !== null && p95 > thresholds.maxP95Ms) return 'latency';
  return null;
}

/**
 * The origin's health now, from the previous judgement (null: never judged, taken as healthy since now), the window
 * and the thresholds. Pure: the same inputs give the same answer on every gateway.
 */
export function judgeOrigin(
  previous: OriginHealth | null,
  window: OriginWindow,
  thresholds: OriginThresholds,
  now: number,
  recoverMs: number = ORIGIN_RECOVER_MS,
): OriginHealth {
  const failed = Object.values(window.errors).reduce((a, b) => a + b, 0);
  const measured = {
    requests: window.requests,
    p50Ms: percentileMs(window.latency, 0.5),
    p95Ms: percentileMs(window.latency, 0.95),
    p99Ms: percentileMs(window.latency, 0.99),
    errorRate: window.requests > 0 ? Math.min(1, failed / window.requests) : 0,
  };
  const breach = originBreach(window, thresholds);
  const wasHealthy = previous?.healthy ?? true;
  if (breach) {
    return { ...measured, healthy: false, since: wasHealthy ? now : previous!.since, calmSince: null, reason: breach };
  }
  if (wasHealthy) return { ...measured, healthy: true, since: previous?.since ?? now, calmSince: null, reason: null };
  const calmSince = previous!.calmSince ?? now;
  if (now - calmSince >= recoverMs) return { ...measured, healthy: true, since: now, calmSince: null, reason: null };
  return { ...measured, healthy: false, since: previous!.since, calmSince, reason: previous!.reason };
}
