/** What the simulator measures, from the users' records and the samples it took once a second. Plain functions. */
import type { UserRecord } from './protocol';

/** The q-th quantile (0..1) of `values` by nearest rank; 0 for none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

const r2 = (n: number) => Math.round(n * 100) / 100;

/**
 * People admitted out of ticket order: a waiting user whose turn came more than `toleranceMs` before the turn of
 * someone with a smaller ticket who was still there (everyone here stays connected until admitted). The tolerance
 * covers how the turn is observed: each ws process looks at the line every WS_TICK_MS, so two people admitted by the
 * same release step may hear of it up to a tick apart, plus the user processes' own event-loop delays.
 */
export function fifoInversions(records: UserRecord[], toleranceMs: number): number {
  return inversionDetails(records, toleranceMs).count;
}

/** The inversions (see fifoInversions) and, for a look at their cause, the largest gaps and the users' disconnects. */
export function inversionDetails(
  records: UserRecord[],
  toleranceMs: number,
): { count: number; largestGapsMs: number[]; withDisconnects: number; atThreeSeconds: number; atFiveSeconds: number } {
  const admitted = records
    .filter((r) => r.ticket !== null && r.admittedAt !== null)
    .sort((a, b) => (a.ticket as number) - (b.ticket as number));
  let latestBefore = Number.NEGATIVE_INFINITY;
  let latestDisconnected = false;
  const gaps: number[] = [];
  let withDisconnects = 0;
  for (const r of admitted) {
    const gap = latestBefore - (r.admittedAt as number);
    if (gap > toleranceMs) {
      gaps.push(gap);
      if (latestDisconnected || r.disconnects > 0) withDisconnects++;
    }
    if ((r.admittedAt as number) > latestBefore) {
      latestBefore = r.admittedAt as number;
      latestDisconnected = r.disconnects > 0;
    }
  }
  gaps.sort((a, b) => b - a);
  return {
    count: gaps.length,
    largestGapsMs: gaps.slice(0, 10).map(Math.round),
    withDisconnects,
    atThreeSeconds: gaps.filter((g) => g > 3000).length,
    atFiveSeconds: gaps.filter((g) => g > 5000).length,
  };
}

export interface Outcome {
  pushesReceived: number;
  tapped: number;
  notTappedByEnd: number;
  admitted: number;
  admittedAtOnce: number;
  waited: number;
  errors: number;
  errorKinds: Record<string, number>;
  lost: number;
  fifoInversions: number;
  fifoInversionDetails: ReturnType<typeof inversionDetails>;
  positionIncreases: number;
  socketDisconnects: number;
  waitP50: number;
  waitP95: number;
  waitMax: number;
  /** Among those who waited only. */
  waitedP50: number;
  waitedP95: number;
  etaRatioP50: number | null;
  etaRatioP90: number | null;
  etaSamples: number;
  admittedVia: Record<string, number>;
}

/** `endedAt`: when the run stopped (a user still waiting then has waited at least until then). */
export function outcome(records: UserRecord[], pushesReceived: number, endedAt: number, toleranceMs: number): Outcome {
  const tapped = records.filter((r) => r.openedAt > 0);
  const admitted = tapped.filter((r) => r.admittedAt !== null);
  const errored = tapped.filter((r) => r.error !== null);
  const lost = tapped.filter((r) => r.admittedAt === null && r.error === null);
  const waitOf = (r: UserRecord) => ((r.admittedAt ?? endedAt) - (r.arrivedAt ?? r.openedAt)) / 1000;
  const waits = [...admitted, ...lost].map(waitOf);
  const waitedOnes = admitted.filter((r) => r.ticket !== null);
  const ratios = waitedOnes
    .filter((r) => r.firstEtaSeconds !== null && r.firstEtaAt !== null && (r.admittedAt as number) - r.firstEtaAt >= 1000)
    .map((r) => (r.firstEtaSeconds as number) / (((r.admittedAt as number) - (r.firstEtaAt as number)) / 1000));
  const errorKinds: Record<string, number> = {};
  for (const r of errored) {
    const kind = (r.error as string).replace(/\d+/g, 'N').slice(0, 80);
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  }
  const admittedVia: Record<string, number> = {};
  for (const r of admitted) admittedVia[r.via ?? 'unknown'] = (admittedVia[r.via ?? 'unknown'] ?? 0) + 1;
  return {
    pushesReceived,
    tapped: tapped.length,
    notTappedByEnd: records.length - tapped.length,
    admitted: admitted.length,
    admittedAtOnce: admitted.length - waitedOnes.length,
    waited: tapped.filter((r) => r.ticket !== null).length,
    errors: errored.length,
    errorKinds,
    lost: lost.length,
    fifoInversions: fifoInversions(records, toleranceMs),
    fifoInversionDetails: inversionDetails(records, toleranceMs),
    positionIncreases: records.reduce((n, r) => n + r.positionIncreases, 0),
    socketDisconnects: records.reduce((n, r) => n + r.disconnects, 0),
    waitP50: r2(quantile(waits, 0.5)),
    waitP95: r2(quantile(waits, 0.95)),
    waitMax: r2(waits.reduce((m, w) => Math.max(m, w), 0)),
    waitedP50: r2(quantile(waitedOnes.map(waitOf), 0.5)),
    waitedP95: r2(quantile(waitedOnes.map(waitOf), 0.95)),
    etaRatioP50: ratios.length > 0 ? r2(quantile(ratios, 0.5)) : null,
    etaRatioP90: ratios.length > 0 ? r2(quantile(ratios, 0.9)) : null,
    etaSamples: ratios.length,
    admittedVia,
  };
}

/** Counts per whole second since `t0` of the given instants (ms). */
export function perSecond(instants: number[], t0: number, seconds: number): number[] {
  const out = new Array<number>(Math.max(1, seconds)).fill(0);
  for (const t of instants) {
    const i = Math.floor((t - t0) / 1000);
    if (i >= 0 && i < out.length) out[i] = (out[i] as number) + 1;
  }
  return out;
}
