/**
 * Seeded randomness for the simulator: each device's choices (does it open the push, after how long) come from its
 * own stream, seeded by the run's seed and the device id, so a run is the same whatever order pushes arrive in and
 * whichever process plays the device.
 */

/** mulberry32: a small, fast 32-bit generator; good enough to draw delays, not for cryptography. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the text: a 32-bit seed from the run's seed and a device id. */
export function seedOf(runSeed: number, id: string): number {
  let h = (0x811c9dc5 ^ runSeed) >>> 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface OpenModel {
  openRate: number;
  medianSeconds: number;
  sigma: number;
  /** Delays are cut at this many seconds (the model's horizon: the delay's 99.9th percentile). */
  maxSeconds: number;
}

/** The delay's 99.9th percentile: median × e^(3.09 σ). */
export const delayHorizon = (medianSeconds: number, sigma: number) => medianSeconds * Math.exp(3.0902 * sigma);

/** Whether this device opens its push, and after how many seconds (log-normal, Box-Muller), or null. */
export function openDecision(model: OpenModel, runSeed: number, deviceId: string): number | null {
  const next = mulberry32(seedOf(runSeed, deviceId));
  if (next() >= model.openRate) return null;
  const u1 = Math.max(next(), 1e-12);
  const u2 = next();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.min(model.maxSeconds, model.medianSeconds * Math.exp(model.sigma * z));
}

/** Which of `n` processes plays a device (the same device always the same one). */
export const shardOf = (deviceId: string, n: number) => seedOf(0x5eed, deviceId) % n;
