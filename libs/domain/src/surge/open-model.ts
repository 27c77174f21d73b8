/**
 * How people open a push: a fraction `openRate` of recipients tap it, after a delay drawn from a log-normal
 * distribution (push opens have a sharp early peak and a long tail; median tens of seconds). Pure maths, no I/O.
 */

export interface OpenModel {
  /** Fraction of recipients who open the push and come through the gateway, 0 to 1. */
  openRate: number;
  /** Median delay from send to tap, seconds (> 0). */
  medianDelaySeconds: number;
  /** Spread of ln(delay) (log-normal sigma, > 0): 1 puts 95% of opens within about 7x the median. */
  sigma: number;
}

/** Defaults before anything was measured: 10% open, median 30 s, sigma 1.0. */
export const DEFAULT_OPEN_MODEL: Readonly<OpenModel> = Object.freeze({ openRate: 0.1, medianDelaySeconds: 30, sigma: 1 });

/** Opens later than this quantile of the delay distribution are ignored (the model's horizon). */
export const DELAY_QUANTILE_CAP = 0.999;

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 through erf; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** Probability that a tap comes within `seconds` of the send. */
export function delayCdf(model: Pick<OpenModel, 'medianDelaySeconds' | 'sigma'>, seconds: number): number {
  if (seconds <= 0) return 0;
  return normalCdf(Math.log(seconds / model.medianDelaySeconds) / model.sigma);
}

/** The delay below which a fraction `q` of taps come (inverse CDF, by bisection: exact enough and branch-free). */
export function delayQuantile(model: Pick<OpenModel, 'medianDelaySeconds' | 'sigma'>, q: number): number {
  let lo = 0;
  let hi = model.medianDelaySeconds * Math.exp(8 * model.sigma);
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (delayCdf(model, mid) < q) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The share of a send's taps that arrive in each step of `stepSeconds` after it: kernel[k] = P(k·step ≤ delay <
 * (k+1)·step), up to the DELAY_QUANTILE_CAP quantile, renormalised so it sums to 1 (every tap is counted once).
 */
export function arrivalKernel(model: Pick<OpenModel, 'medianDelaySeconds' | 'sigma'>, stepSeconds: number): number[] {
  const last = Math.max(1, Math.ceil(delayQuantile(model, DELAY_QUANTILE_CAP) / stepSeconds));
  const kernel: number[] = [];
  let previous = 0;
  for (let k = 0; k < last; k++) {
    const next = delayCdf(model, (k + 1) * stepSeconds);
    kernel.push(next - previous);
    previous = next;
  }
  const total = previous;
  return kernel.map((v) => v / total);
}

/**
 * A log-normal fitted to observed send→tap delays (seconds, > 0), by the moments of ln(delay): the median is the
 * geometric mean, sigma the standard deviation of the logs (at least 0.05). Null with fewer than `minSamples`.
 */
export function fitOpenDelay(delays: readonly number[], minSamples = 30): Pick<OpenModel, 'medianDelaySeconds' | 'sigma'> | null {
  const logs = delays.filter((d) => d > 0 && Number.isFinite(d)).map((d) => Math.log(d));
  if (logs.length < minSamples) return null;
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const variance = logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1);
  return { medianDelaySeconds: Math.exp(mean), sigma: Math.max(0.05, Math.sqrt(variance)) };
}

/**
 * A log-normal fitted to a histogram of send→tap delays (bucket counts and each bucket's upper bound in ms, the last
 * open-ended), each bucket taken at its geometric middle. Null with fewer than `minSamples` opens.
 */
export function fitOpenDelayHistogram(
  counts: readonly number[],
  upperMs: ReadonlyArray<number | null>,
  minSamples = 30,
): Pick<OpenModel, 'medianDelaySeconds' | 'sigma'> | null {
  const logs: Array<[number, number]> = [];
  let samples = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] ?? 0;
    if (n <= 0) continue;
    const upper = upperMs[i] ?? (upperMs[i - 1] ?? 1000) * Math.SQRT2;
    const lower = i === 0 ? upper / Math.SQRT2 : (upperMs[i - 1] ?? upper / Math.SQRT2);
    logs.push([Math.log(Math.sqrt(Math.max(lower, 1) * upper) / 1000), n]);
    samples += n;
  }
  if (samples < minSamples) return null;
  const mean = logs.reduce((a, [x, n]) => a + x * n, 0) / samples;
  const variance = logs.reduce((a, [x, n]) => a + n * (x - mean) ** 2, 0) / Math.max(1, samples - 1);
  return { medianDelaySeconds: Math.exp(mean), sigma: Math.max(0.05, Math.sqrt(variance)) };
}
