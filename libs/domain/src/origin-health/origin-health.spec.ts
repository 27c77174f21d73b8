import { emptyHistogram, latencyBucket } from './latency-histogram';
import { judgeOrigin, ORIGIN_RECOVER_MS, type OriginHealth, type OriginThresholds, type OriginWindow } from './origin-health';

const thresholds: OriginThresholds = { maxP95Ms: 2000, maxErrorRate: 0.2, minRequests: 20 };
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);

function window(requests: number, latencyMs: number, status5xx = 0, refused = 0): OriginWindow {
  const latency = emptyHistogram();
  latency[latencyBucket(latencyMs)] = requests - status5xx - refused;
  return { requests, latency, errors: { status_5xx: status5xx, refused, reset: 0, timeout: 0, other: 0 } };
}

/** Judges a series of (time offset, window) pairs, each from the previous judgement. */
function run(steps: Array<[number, OriginWindow]>): OriginHealth[] {
  const out: OriginHealth[] = [];
  let previous: OriginHealth | null = null;
  for (const [offset, w] of steps) {
    previous = judgeOrigin(previous, w, thresholds, T0 + offset);
    out.push(previous);
  }
  return out;
}

describe('origin health', () => {
  it('a fast origin with no errors is healthy, with its percentiles and error rate', () => {
    const [h] = run([[0, window(100, 40)]]);
    expect(h).toMatchObject({ healthy: true, since: T0, reason: null, requests: 100, errorRate: 0 });
    expect(h!.p95Ms).toBeLessThanOrEqual(50);
  });

  it('turns unhealthy at once when p95 passes the threshold', () => {
    const [, h] = run([
      [0, window(100, 40)],
      [1000, window(100, 3000)],
    ]);
    expect(h).toMatchObject({ healthy: false, since: T0 + 1000, reason: 'latency' });
  });

  it('turns unhealthy when 5xx answers and connection errors pass the error rate', () => {
    const [h] = run([[0, window(100, 40, 15, 10)]]);
    expect(h).toMatchObject({ healthy: false, reason: 'errors', errorRate: 0.25 });
  });

  it('does not judge on too few requests', () => {
    const [h] = run([[0, window(10, 5000, 10)]]);
    expect(h).toMatchObject({ healthy: true, requests: 10, errorRate: 1 });
  });

  it('is healthy again only after the window stays within the thresholds for the recovery time', () => {
    const steps: Array<[number, OriginWindow]> = [[0, window(100, 40, 50)]];
    for (let s = 1; s <= 12; s++) steps.push([s * 1000, window(100, 40)]);
    const judged = run(steps);
    expect(judged[0]!.healthy).toBe(false);
    // Calm from t=1 s: still unhealthy until t=1 s + 10 s.
    const recoveredAt = judged.findIndex((h) => h.healthy);
    expect(recoveredAt).toBe(1 + ORIGIN_RECOVER_MS / 1000);
    expect(judged[recoveredAt]).toMatchObject({ healthy: true, since: T0 + recoveredAt * 1000, calmSince: null });
    expect(judged[recoveredAt - 1]).toMatchObject({ healthy: false, since: T0, calmSince: T0 + 1000, reason: 'errors' });
  });

  it('a breach while recovering starts the recovery over (no flapping)', () => {
    const judged = run([
      [0, window(100, 40, 50)],
      [1000, window(100, 40)],
      [8000, window(100, 40, 50)],
      [9000, window(100, 40)],
      [12_000, window(100, 40)],
      [19_000, window(100, 40)],
    ]);
    expect(judged.map((h) => h.healthy)).toEqual([false, false, false, false, false, true]);
    expect(judged[3]!.calmSince).toBe(T0 + 9000);
    expect(judged[4]!.since).toBe(T0);
  });
});
