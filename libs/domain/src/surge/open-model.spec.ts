import { arrivalKernel, delayCdf, delayQuantile, fitOpenDelay, fitOpenDelayHistogram, normalCdf } from './open-model';
import { funnelBucketOf, funnelHistogram } from '../funnel-histogram';

describe('the open model', () => {
  it('has a standard normal CDF accurate to 1e-6 at known points', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
  });

  it('puts half the taps before the median, and inverts its CDF', () => {
    const model = { medianDelaySeconds: 30, sigma: 1 };
    expect(delayCdf(model, 30)).toBeCloseTo(0.5, 6);
    expect(delayQuantile(model, 0.975)).toBeCloseTo(30 * Math.exp(1.959964), 1);
  });

  it('spreads every tap over the kernel exactly once', () => {
    const kernel = arrivalKernel({ medianDelaySeconds: 30, sigma: 1 }, 1);
    expect(kernel.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    // The peak of a log-normal with median 30 s and sigma 1 is at 30·e^(−1) ≈ 11 s.
    expect(kernel.indexOf(Math.max(...kernel))).toBeGreaterThanOrEqual(9);
    expect(kernel.indexOf(Math.max(...kernel))).toBeLessThanOrEqual(12);
  });

  it('fits median and sigma from observed delays (log-normal samples from a fixed seed)', () => {
    let seed = 42;
    const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
    const delays: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const z = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      delays.push(45 * Math.exp(0.8 * z));
    }
    const fit = fitOpenDelay(delays);
    expect(fit?.medianDelaySeconds).toBeGreaterThan(43);
    expect(fit?.medianDelaySeconds).toBeLessThan(47);
    expect(fit?.sigma).toBeGreaterThan(0.77);
    expect(fit?.sigma).toBeLessThan(0.83);
    expect(fitOpenDelay(delays.slice(0, 10))).toBeNull();

    // The same delays as the gateway keeps them: a fixed-bucket histogram (bounds √2 apart) fits close to the truth.
    const counts = new Array<number>(40).fill(0);
    for (const d of delays) counts[funnelBucketOf(d * 1000)]! += 1;
    const histogram = funnelHistogram(counts);
    const binned = fitOpenDelayHistogram(histogram.counts, histogram.upperMs);
    expect(binned?.medianDelaySeconds).toBeGreaterThan(42);
    expect(binned?.medianDelaySeconds).toBeLessThan(48);
    expect(binned?.sigma).toBeGreaterThan(0.75);
    expect(binned?.sigma).toBeLessThan(0.87);
  });
});
