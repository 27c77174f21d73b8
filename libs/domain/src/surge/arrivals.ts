/**
 * Expected arrivals at the gateway from pushes sent: λ(t) = Σ sends nᵢ · openRate · P(delay ∈ step t − sᵢ). Sends
 * already made are a known future inflow; planned ones are what a forecast or the controller considers.
 */
import { arrivalKernel, type OpenModel } from './open-model';

/** Pushes sent (or to be sent) at `atSeconds` (relative to the flow's step 0; negative: already sent). */
export interface Send {
  atSeconds: number;
  count: number;
}

/**
 * Expected arrivals per step of `stepSeconds` over `steps` steps from 0, from the sends given (a sparse convolution:
 * cost is sends × kernel length). Taps of sends before 0 that fall before 0 are gone already and not counted.
 */
export function expectedArrivals(sends: readonly Send[], model: OpenModel, stepSeconds: number, steps: number): Float64Array {
  const out = new Float64Array(Math.max(0, steps));
  if (model.openRate <= 0) return out;
  const kernel = arrivalKernel(model, stepSeconds);
  const binned = new Map<number, number>();
  for (const s of sends) {
    if (s.count <= 0) continue;
    const bin = Math.floor(s.atSeconds / stepSeconds);
    binned.set(bin, (binned.get(bin) ?? 0) + s.count);
  }
  for (const [bin, count] of binned) {
    const people = count * model.openRate;
    for (let k = 0; k < kernel.length; k++) {
      const t = bin + k;
      if (t < 0) continue;
      if (t >= out.length) break;
      out[t] = (out[t] as number) + people * (kernel[k] as number);
    }
  }
  return out;
}

/** Steps from the last send until its taps are (almost) all in: the kernel's length. */
export function inflowSteps(model: OpenModel, stepSeconds: number): number {
  return arrivalKernel(model, stepSeconds).length;
}

/** Taps still to come (expected) from sends already made, at step 0. */
export function pendingArrivals(sends: readonly Send[], model: OpenModel, stepSeconds: number): number {
  const kernel = arrivalKernel(model, stepSeconds);
  let total = 0;
  for (const s of sends) {
    const bin = Math.floor(s.atSeconds / stepSeconds);
    for (let k = 0; k < kernel.length; k++) if (bin + k >= 0) total += s.count * model.openRate * (kernel[k] as number);
  }
  return total;
}
