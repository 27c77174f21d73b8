/**
 * The waiting room as a fluid, one step at a time: people arrive (expected arrivals per step), are admitted while the
 * origin has free places and the admission rate allows, hold their place for a session, and wait in FIFO order
 * otherwise. Deterministic and pure: the forecast, the pacing controller and the ETA all use it.
 */

/** What the room can take: its SRE settings, and how long an admitted person holds a place. */
export interface RoomCapacity {
  /** Places on the origin (concurrent sessions). */
  totalActiveUsers: number;
  /** Admission rate: new sessions per minute, at most. */
  newUsersPerMinute: number;
  /** How long an admitted person holds a place, seconds (the session, or the typical visit when shorter). */
  sessionSeconds: number;
}

export interface FlowInput {
  stepSeconds: number;
  /** The room's capacity in each step (a function lets a scenario shrink the room mid-way). */
  capacity: RoomCapacity | ((step: number) => RoomCapacity);
  /** People waiting now, and admitted now (assumed to leave evenly over the next session). */
  start: { waiting: number; active: number };
  /** Expected arrivals during each step, from step 0. */
  arrivals: ArrayLike<number>;
  /** Steps simulated at most (the horizon); the flow stops earlier once every arrival is in and the line is empty. */
  maxSteps: number;
}

export interface FlowResult {
  stepSeconds: number;
  /** Per step: arrivals, admissions, people waiting and admitted at the end of the step. */
  arrivals: number[];
  admitted: number[];
  queue: number[];
  active: number[];
  peakQueue: number;
  peakActive: number;
  /** Waits of the people who arrive (and of those waiting at the start: their remaining wait), FIFO. */
  waits: WaitSummary;
  /** Every arrival admitted and the line empty within the horizon. */
  drained: boolean;
}

export interface WaitSummary {
  p50: number;
  p95: number;
  max: number;
  /** People the waits are about (expected). */
  people: number;
}

const EPS = 1e-9;

const capacityAt = (c: FlowInput['capacity'], step: number) => (typeof c === 'function' ? c(step) : c);

/** Runs the fluid room (see the file's doc). */
export function simulateRoom(input: FlowInput): FlowResult {
  const dt = input.stepSeconds;
  const out: FlowResult = {
    stepSeconds: dt,
    arrivals: [],
    admitted: [],
    queue: [],
    active: [],
    peakQueue: input.start.waiting,
    peakActive: input.start.active,
    waits: { p50: 0, p95: 0, max: 0, people: 0 },
    drained: false,
  };
  // Departures scheduled per step: admissions leave one session later; those admitted before leave evenly.
  const departures = new Map<number, number>();
  const leaveAt = (step: number, n: number) => departures.set(step, (departures.get(step) ?? 0) + n);
  const first = capacityAt(input.capacity, 0);
  const firstSession = Math.max(1, Math.round(first.sessionSeconds / dt));
  for (let k = 1; k <= firstSession; k++) leaveAt(k, input.start.active / firstSession);

  let queue = input.start.waiting;
  let active = input.start.active;
  let lastArrival = -1;
  for (let t = 0; t < input.arrivals.length; t++) if ((input.arrivals[t] ?? 0) > EPS) lastArrival = t;

  for (let t = 0; t < input.maxSteps; t++) {
    const cap = capacityAt(input.capacity, t);
    active = Math.max(0, active - (departures.get(t) ?? 0));
    departures.delete(t);
    const arriving = input.arrivals[t] ?? 0;
    const demand = queue + arriving;
    const free = Math.max(0, cap.totalActiveUsers - active);
    const admit = Math.min(demand, free, (cap.newUsersPerMinute / 60) * dt);
    queue = demand - admit;
    if (queue < EPS) queue = 0;
    active += admit;
    leaveAt(t + Math.max(1, Math.round(cap.sessionSeconds / dt)), admit);
    out.arrivals.push(arriving);
    out.admitted.push(admit);
    out.queue.push(queue);
    out.active.push(active);
    if (queue > out.peakQueue) out.peakQueue = queue;
    if (active > out.peakActive) out.peakActive = active;
    if (t >= lastArrival && queue === 0) {
      out.drained = true;
      break;
    }
  }
  out.waits = fifoWaits(input.start.waiting, out.arrivals, out.admitted, dt);
  return out;
}

/**
 * FIFO waits from cumulative arrivals and admissions: the cohort arriving in step t (its middle, for the percentiles;
 * its last person, for the maximum) is admitted in the first step whose cumulative admissions reach it. Those
 * waiting at the start form a cohort at step 0. People never admitted within the horizon wait at least until its
 * end (counted as such: the flow says whether it drained).
 */
export function fifoWaits(waitingAtStart: number, arrivals: readonly number[], admitted: readonly number[], dt: number): WaitSummary {
  const cumAdm: number[] = [];
  let sum = 0;
  for (const a of admitted) cumAdm.push((sum += a));
  const end = admitted.length;
  let pointer = 0;
  const admittedBy = (x: number, from: number): number => {
    if (pointer < from) pointer = from;
    while (pointer < end && (cumAdm[pointer] as number) + EPS < x) pointer++;
    return pointer;
  };
  const cohorts: Array<{ wait: number; mass: number }> = [];
  let max = 0;
  let cumArr = 0;
  const cohort = (t: number, mass: number) => {
    if (mass <= EPS) return;
    const before = cumArr;
    cumArr += mass;
    const lastIn = admittedBy(cumArr, t);
    const midIn = Math.min(lastIn, admittedByScan(cumAdm, before + mass / 2, t));
    max = Math.max(max, (lastIn - t) * dt);
    cohorts.push({ wait: (midIn - t) * dt, mass });
  };
  cohort(0, waitingAtStart);
  for (let t = 0; t < arrivals.length; t++) cohort(t, arrivals[t] ?? 0);
  const people = cohorts.reduce((a, c) => a + c.mass, 0);
  cohorts.sort((a, b) => a.wait - b.wait);
  const quantile = (q: number) => {
    let acc = 0;
    for (const c of cohorts) {
      acc += c.mass;
      if (acc >= q * people - EPS) return c.wait;
    }
    return cohorts.at(-1)?.wait ?? 0;
  };
  return { p50: quantile(0.5), p95: quantile(0.95), max, people };
}

/** The first step from `from` whose cumulative admissions reach `x` (binary search: the array is non-decreasing). */
function admittedByScan(cumAdm: readonly number[], x: number, from: number): number {
  let lo = from;
  let hi = cumAdm.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumAdm[mid] as number) + EPS < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The most the room admits per second once full and turning over: min(rate, places / session). */
export function steadyAdmitsPerSecond(c: RoomCapacity): number {
  return Math.min(c.newUsersPerMinute / 60, c.totalActiveUsers / Math.max(1, c.sessionSeconds));
}
