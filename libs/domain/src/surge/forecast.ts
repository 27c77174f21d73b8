/**
 * Forecast of a campaign's surge before it is sent, and the wave plan that keeps it within the wait budget while
 * finishing earliest. Pure: the audience, the open model, the room's capacity and the planned waves in; curves out.
 */
import { expectedArrivals, inflowSteps, type Send } from './arrivals';
import { arrivalKernel, type OpenModel } from './open-model';
import { decidePacing, type PacingDecision } from './pacing';
import { fifoWaits, simulateRoom, steadyAdmitsPerSecond, type RoomCapacity } from './room-flow';

export interface WaveSchedule {
  audience: number;
  waveSize: number;
  intervalSeconds: number;
  batchSize: number;
  /** How fast a wave's batches can leave (the campaign's and providers' rate limits), messages per second. */
  sendPerSecond: number;
}

export interface PlannedWaveTimes {
  wave: number;
  startsAtSeconds: number;
  endsAtSeconds: number;
  size: number;
}

/** When each wave and batch leaves: wave k at max(k × interval, end of wave k − 1), its batches at the send rate. */
export function plannedSends(plan: WaveSchedule): { sends: Send[]; waves: PlannedWaveTimes[] } {
  const sends: Send[] = [];
  const waves: PlannedWaveTimes[] = [];
  let left = plan.audience;
  let previousEnd = 0;
  const perSecond = Math.max(plan.sendPerSecond, 1e-6);
  for (let k = 0; left > 0; k++) {
    const size = Math.min(plan.waveSize, left);
    const start = Math.max(k * plan.intervalSeconds, previousEnd);
    let t = start;
    for (let sent = 0; sent < size; sent += plan.batchSize) {
      const n = Math.min(plan.batchSize, size - sent);
      sends.push({ atSeconds: t, count: n });
      t += n / perSecond;
    }
    waves.push({ wave: k + 1, startsAtSeconds: start, endsAtSeconds: t, size });
    previousEnd = t;
    left -= size;
  }
  return { sends, waves };
}

export interface ForecastInput {
  plan: WaveSchedule;
  openModel: OpenModel;
  capacity: RoomCapacity;
  /** The room now (people already waiting and admitted). */
  start?: { waiting: number; active: number };
  budgetSeconds: number;
  stepSeconds?: number;
}

export interface CurvePoint {
  /** Start of the minute, seconds from the first send. */
  atSeconds: number;
  arrivalsPerMinute: number;
  admittedPerMinute: number;
  /** Most people waiting, and admitted, during the minute. */
  queue: number;
  active: number;
}

export interface SurgeForecast {
  waves: PlannedWaveTimes[];
  curve: CurvePoint[];
  /** Expected visitors (audience × open rate, within the model's horizon). */
  visitors: number;
  peakArrivalsPerMinute: number;
  peakQueue: number;
  peakActive: number;
  waitP50Seconds: number;
  waitP95Seconds: number;
  waitMaxSeconds: number;
  budgetSeconds: number;
  withinBudget: boolean;
  sendingEndsAtSeconds: number;
  /** When the last visitor is admitted (null: not within the horizon). */
  drainedAtSeconds: number | null;
}

const MAX_HORIZON_SECONDS = 7 * 24 * 3600;
/** The paced forecast models at most this long (a campaign the room paces for longer is reported as not drained). */
const PACED_HORIZON_SECONDS = 4 * 3600;
/** The paced forecast takes at most about this many decisions (a long campaign is modelled with fewer, further apart). */
const MAX_PACED_DECISIONS = 3000;

/** The surge a plan causes (see the file's doc). */
export function forecastSurge(input: ForecastInput): SurgeForecast {
  const dt = input.stepSeconds ?? 1;
  const { sends, waves } = plannedSends(input.plan);
  const sendingEnds = waves.at(-1)?.endsAtSeconds ?? 0;
  const visitors = input.plan.audience * input.openModel.openRate;
  const steady = Math.max(steadyAdmitsPerSecond(input.capacity), 1e-6);
  const horizon = Math.min(
    MAX_HORIZON_SECONDS,
    sendingEnds + inflowSteps(input.openModel, dt) * dt + visitors / steady + input.capacity.sessionSeconds + 60,
  );
  const steps = Math.ceil(horizon / dt);
  const flow = simulateRoom({
    stepSeconds: dt,
    capacity: input.capacity,
    start: input.start ?? { waiting: 0, active: 0 },
    arrivals: expectedArrivals(sends, input.openModel, dt, steps),
    maxSteps: steps,
  });
  const perMinute = Math.max(1, Math.round(60 / dt));
  const curve: CurvePoint[] = [];
  for (let i = 0; i < flow.queue.length; i += perMinute) {
    const sum = (a: number[]) => a.slice(i, i + perMinute).reduce((x, y) => x + y, 0);
    curve.push({
      atSeconds: i * dt,
      arrivalsPerMinute: round(sum(flow.arrivals)),
      admittedPerMinute: round(sum(flow.admitted)),
      queue: round(Math.max(...flow.queue.slice(i, i + perMinute))),
      active: round(Math.max(...flow.active.slice(i, i + perMinute))),
    });
  }
  return {
    waves,
    curve,
    visitors: round(visitors),
    peakArrivalsPerMinute: curve.reduce((m, c) => Math.max(m, c.arrivalsPerMinute), 0),
    peakQueue: round(flow.peakQueue),
    peakActive: round(flow.peakActive),
    waitP50Seconds: flow.waits.p50,
    waitP95Seconds: flow.waits.p95,
    waitMaxSeconds: flow.drained ? flow.waits.max : Math.max(flow.waits.max, horizon),
    budgetSeconds: input.budgetSeconds,
    withinBudget: flow.drained && flow.waits.max <= input.budgetSeconds,
    sendingEndsAtSeconds: sendingEnds,
    drainedAtSeconds: flow.drained ? flow.queue.length * dt : null,
  };
}

export interface Recommendation {
  /** A plan whose predicted max wait is within budget × (1 − margin), finishing sending earliest; or the best there is. */
  waveSize: number;
  intervalSeconds: number;
  feasible: boolean;
  /** Why, in words (and what would help when no plan can). */
  reason: string;
  forecast: SurgeForecast;
}

export const RECOMMEND_INTERVALS = [0, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600] as const;
export const DEFAULT_BUDGET_MARGIN = 0.1;

/**
 * Searches wave sizes (the audience halved down to one batch) × intervals (RECOMMEND_INTERVALS) on a coarse grid, then
 * forecasts the winner exactly: the earliest end of sending whose predicted max wait stays within budget × (1 −
 * margin). When none does, the plan with the smallest max wait, and why no plan can.
 */
export function recommendPlan(input: Omit<ForecastInput, 'stepSeconds'>, margin = DEFAULT_BUDGET_MARGIN): Recommendation {
  const { plan } = input;
  const limit = input.budgetSeconds * (1 - margin);
  const sizes = new Set<number>();
  for (let w = Math.max(plan.audience, 1); w >= plan.batchSize; w = Math.floor(w / 2)) sizes.add(w);
  sizes.add(Math.max(1, plan.batchSize));
  sizes.add(Math.min(plan.waveSize, Math.max(plan.audience, 1)));
  const coarse = Math.max(1, Math.min(10, Math.round(input.budgetSeconds / 60)));
  let best: { size: number; interval: number; ends: number; wait: number; feasible: boolean } | null = null;
  for (const size of sizes) {
    for (const interval of RECOMMEND_INTERVALS) {
      const candidatePlan = { ...plan, waveSize: size, intervalSeconds: interval };
      // A plan that would take longer than the horizon to send is no plan.
      if ((plannedSends(candidatePlan).waves.at(-1)?.endsAtSeconds ?? 0) > MAX_HORIZON_SECONDS / 2) continue;
      const f = forecastSurge({ ...input, plan: candidatePlan, stepSeconds: coarse });
      const feasible = f.drainedAtSeconds !== null && f.waitMaxSeconds <= limit;
      const candidate = { size, interval, ends: f.sendingEndsAtSeconds, wait: f.waitMaxSeconds, feasible };
      if (!best) best = candidate;
      else if (feasible && (!best.feasible || candidate.ends < best.ends || (candidate.ends === best.ends && candidate.wait < best.wait)))
        best = candidate;
      else if (!feasible && !best.feasible && candidate.wait < best.wait) best = candidate;
    }
  }
  const chosen = best ?? { size: plan.waveSize, interval: plan.intervalSeconds, ends: 0, wait: Infinity, feasible: false };
  const forecast = forecastSurge({ ...input, plan: { ...plan, waveSize: chosen.size, intervalSeconds: chosen.interval } });
  const steady = steadyAdmitsPerSecond(input.capacity) * 60;
  const reason = chosen.feasible
    ? `waves of ${chosen.size} every ${chosen.interval} s keep the predicted max wait at ${Math.round(forecast.waitMaxSeconds)} s (budget ${input.budgetSeconds} s less ${Math.round(margin * 100)}% margin) and finish sending in ${Math.round(forecast.sendingEndsAtSeconds)} s`
    : `no plan keeps the max wait within ${input.budgetSeconds} s: the room admits at most ${round(steady)} people a minute once full, and even waves of ${chosen.size} every ${chosen.interval} s leave a predicted max wait of ${Math.round(forecast.waitMaxSeconds)} s; raise the room's capacity, send to fewer people, or raise the budget`;
  return { waveSize: chosen.size, intervalSeconds: chosen.interval, feasible: chosen.feasible, reason, forecast };
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * The surge as the pacing controller would shape it: the fluid room run second by second, the controller
 * (`decidePacing`) deciding each second how fast the campaign may send from the modelled room's state and what was
 * sent, the sends following the plan's waves and never faster than the decision. What a paced campaign is expected to
 * cause (the peak queue, the waits, when sending ends), to set beside the plan as it stands.
 */
export function forecastPaced(input: ForecastInput): SurgeForecast {
  const dt = 1;
  const { plan, openModel, capacity, budgetSeconds } = input;
  const kernel = arrivalKernel(openModel, dt);
  const visitors = plan.audience * openModel.openRate;
  const steady = Math.max(steadyAdmitsPerSecond(capacity), 1e-6);
  const maxSteps = Math.ceil(
    Math.min(PACED_HORIZON_SECONDS, plannedSends(plan).waves.at(-1)!.endsAtSeconds * 4 + kernel.length + visitors / steady + 3600),
  );
  // The controller decides each second in production; here every `every` seconds (a budget of minutes does not need
  // a decision a second to be modelled, and the forecast answers an API request: at most MAX_PACED_DECISIONS).
  const every = Math.max(1, Math.ceil(budgetSeconds / 60), Math.ceil(maxSteps / MAX_PACED_DECISIONS));
  const arrivals = new Float64Array(maxSteps + kernel.length + 1);
  const sent: Send[] = [];
  let left = plan.audience;
  let previous: PacingDecision | null = null;
  let queue = input.start?.waiting ?? 0;
  let active = input.start?.active ?? 0;
  const departures = new Map<number, number>();
  const session = Math.max(1, Math.round(capacity.sessionSeconds / dt));
  const out = { arrivals: [] as number[], admitted: [] as number[], queue: [] as number[], active: [] as number[] };
  let sendingEnds = 0;
  let peakQueue = queue;
  let peakActive = active;
  // Sends whose taps can still come (within the kernel), relative to step t: a moving window over `sent` (in time order).
  let firstRecent = 0;
  const recentSends = (t: number): Send[] => {
    while (firstRecent < sent.length && (sent[firstRecent] as Send).atSeconds <= t - kernel.length) firstRecent++;
    const out: Send[] = [];
    for (let i = firstRecent; i < sent.length; i++)
      out.push({ atSeconds: (sent[i] as Send).atSeconds - t, count: (sent[i] as Send).count });
    return out;
  };
  const wavesTimes: PlannedWaveTimes[] = [];
  let waveLeft = 0;
  let wave = 0;
  let nextWaveAt = 0;
  for (let t = 0; t < maxSteps; t++) {
    // The plan: a wave opens at its interval (and once the previous one has left); within it the controller's rate.
    if (waveLeft === 0 && left > 0 && t >= nextWaveAt) {
      wave++;
      waveLeft = Math.min(plan.waveSize, left);
      wavesTimes.push({ wave, startsAtSeconds: t, endsAtSeconds: t, size: waveLeft });
      nextWaveAt = t + plan.intervalSeconds;
    }
    if (waveLeft > 0 && (t % every === 0 || previous === null)) {
      previous = decidePacing({
        room: { waiting: queue, active, capacity, healthy: true },
        sent: recentSends(t),
        openModel,
        budgetSeconds,
        maxSendPerSecond: plan.sendPerSecond,
        remaining: left,
        previous,
      });
    }
    if (waveLeft > 0 && previous) {
      const n = Math.min(waveLeft, previous.sendPerSecond * dt);
      if (n > 0) {
        sent.push({ atSeconds: t, count: n });
        for (let k = 0; k < kernel.length; k++)
          arrivals[t + k] = (arrivals[t + k] as number) + n * openModel.openRate * (kernel[k] as number);
        waveLeft -= n;
        left -= n;
        if (waveLeft < 1e-9) {
          waveLeft = 0;
          wavesTimes[wavesTimes.length - 1]!.endsAtSeconds = t + 1;
        }
        if (left < 1e-9) {
          left = 0;
          sendingEnds = t + 1;
        }
      }
    }
    active = Math.max(0, active - (departures.get(t) ?? 0));
    departures.delete(t);
    const arriving = arrivals[t] as number;
    const admit = Math.min(queue + arriving, Math.max(0, capacity.totalActiveUsers - active), (capacity.newUsersPerMinute / 60) * dt);
    queue = Math.max(0, queue + arriving - admit);
    active += admit;
    departures.set(t + session, (departures.get(t + session) ?? 0) + admit);
    out.arrivals.push(arriving);
    out.admitted.push(admit);
    out.queue.push(queue);
    out.active.push(active);
    peakQueue = Math.max(peakQueue, queue);
    peakActive = Math.max(peakActive, active);
    if (left === 0 && t >= sendingEnds + kernel.length && queue < 1e-9) break;
  }
  const waits = fifoWaits(input.start?.waiting ?? 0, out.arrivals, out.admitted, dt);
  const drained = left === 0 && (out.queue.at(-1) ?? 0) < 1e-9;
  const curve: CurvePoint[] = [];
  for (let i = 0; i < out.queue.length; i += 60) {
    const sum = (a: number[]) => a.slice(i, i + 60).reduce((x, y) => x + y, 0);
    curve.push({
      atSeconds: i,
      arrivalsPerMinute: round(sum(out.arrivals)),
      admittedPerMinute: round(sum(out.admitted)),
      queue: round(out.queue.slice(i, i + 60).reduce((m, v) => Math.max(m, v), 0)),
      active: round(out.active.slice(i, i + 60).reduce((m, v) => Math.max(m, v), 0)),
    });
  }
  return {
    waves: wavesTimes,
    curve,
    visitors: round(visitors),
    peakArrivalsPerMinute: curve.reduce((m, c) => Math.max(m, c.arrivalsPerMinute), 0),
    peakQueue: round(peakQueue),
    peakActive: round(peakActive),
    waitP50Seconds: waits.p50,
    waitP95Seconds: waits.p95,
    waitMaxSeconds: waits.max,
    budgetSeconds,
    withinBudget: drained && waits.max <= budgetSeconds,
    sendingEndsAtSeconds: sendingEnds,
    drainedAtSeconds: drained ? out.queue.length * dt : null,
  };
}
