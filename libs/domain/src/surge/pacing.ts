/**
 * The closed-loop pacing controller (model-predictive, re-decided every second): before the next batches of a
 * campaign leave, predict the room's max wait over the horizon from its live state (people waiting and admitted, its
 * capacity), the taps still to come from what this campaign already sent, and the batches about to go; send at the
 * highest rate that keeps the prediction within the wait budget, hold when none does. Pure: the scheduler gathers the
 * inputs and applies the decision.
 */
import { expectedArrivals, inflowSteps, type Send } from './arrivals';
import { type OpenModel } from './open-model';
import { simulateRoom, type RoomCapacity } from './room-flow';

/** The fastest a campaign with no rate limit at all is assumed to send, messages per second (a ceiling for the model). */
export const UNLIMITED_SEND_PER_SECOND = 20_000;

/** The slowest rate the controller tries before it holds, messages per second. */
export const MIN_SEND_PER_SECOND = 1;

export interface PacingInput {
  room: {
    waiting: number;
    active: number;
    capacity: RoomCapacity;
    /** The origin is healthy by the room's thresholds (unhealthy: hold). */
    healthy: boolean;
    /** Arrivals per second that are not this campaign's (other traffic), measured; 0 if unknown. */
    otherArrivalsPerSecond?: number;
  };
  /** What this campaign sent recently (`atSeconds` ≤ 0: seconds before now). */
  sent: readonly Send[];
  openModel: OpenModel;
  budgetSeconds: number;
  /** The fastest the campaign may send (its rate limits), messages per second. */
  maxSendPerSecond: number;
  /** Recipients still to send (0: nothing to pace). */
  remaining: number;
  /** The previous decision (hysteresis), or null for the first. */
  previous: PacingDecision | null;
  settings?: Partial<PacingSettings>;
}

export interface PacingSettings {
  /** Predictions must stay within budget × (1 − margin) to send. */
  margin: number;
  /** While holding, sending resumes only within budget × (1 − margin − hysteresis): no flapping at the edge. */
  hysteresis: number;
  /** How far ahead a rate is assumed to be kept when it is judged, seconds (the decision is taken again every second). */
  lookaheadSeconds: number;
  /** The slowest non-zero rate tried, as a fraction of the maximum. */
  minFraction: number;
  stepSeconds: number;
}

export const DEFAULT_PACING: Readonly<PacingSettings> = Object.freeze({
  margin: 0.1,
  hysteresis: 0.1,
  lookaheadSeconds: 10,
  minFraction: 1 / 64,
  stepSeconds: 1,
});

export type PacingReason = 'clear' | 'paced' | 'budget' | 'origin_unhealthy' | 'done';

export interface PacingDecision {
  /** Messages per second the campaign may send now (0: hold). */
  sendPerSecond: number;
  /** sending: at full speed; paced: slower than full; held: nothing leaves. */
  state: 'sending' | 'paced' | 'held';
  reason: PacingReason;
  /** In words, with the figures. */
  message: string;
  figures: {
    waiting: number;
    active: number;
    pendingTaps: number;
    predictedMaxWaitSeconds: number;
    predictedAtFullSpeedSeconds: number;
    budgetSeconds: number;
    limitSeconds: number;
  };
}

/** Decides the campaign's send rate for the next second (see the file's doc). */
export function decidePacing(input: PacingInput): PacingDecision {
  const s = { ...DEFAULT_PACING, ...input.settings };
  const base = { waiting: round(input.room.waiting), active: round(input.room.active), budgetSeconds: input.budgetSeconds };
  const holding = input.previous?.state === 'held';
  const limit = input.budgetSeconds * (1 - s.margin - (holding ? s.hysteresis : 0));
  const predict = (rate: number) => predictMaxWait(input, rate, s);
  const full = predict(input.maxSendPerSecond);
  const pending = full.pending;
  const figures = (wait: number) => ({
    ...base,
    pendingTaps: round(pending),
    predictedMaxWaitSeconds: round(wait),
    predictedAtFullSpeedSeconds: round(full.wait),
    limitSeconds: round(limit),
  });
  if (input.remaining <= 0) {
    return { sendPerSecond: 0, state: 'held', reason: 'done', message: 'nothing left to send', figures: figures(full.wait) };
  }
  if (!input.room.healthy) {
    const idle = predict(0).wait;
    return {
      sendPerSecond: 0,
      state: 'held',
      reason: 'origin_unhealthy',
      message: "held: the room's origin is unhealthy; sending resumes when it recovers",
      figures: figures(idle),
    };
  }
  if (full.wait <= limit) {
    return {
      sendPerSecond: input.maxSendPerSecond,
      state: 'sending',
      reason: 'clear',
      message: `sending at full speed: predicted max wait ${Math.round(full.wait)} s within ${Math.round(limit)} s`,
      figures: figures(full.wait),
    };
  }
  // Halving down to the slowest fraction, and on to one message a second: a campaign with no rate limit at all starts
  // from a ceiling far above what a small room takes, and must still find the rate that room does take.
  for (let f = 0.5; f >= s.minFraction || input.maxSendPerSecond * f >= MIN_SEND_PER_SECOND; f /= 2) {
    const rate = input.maxSendPerSecond * f;
    const p = predict(rate);
    if (p.wait <= limit) {
      return {
        sendPerSecond: rate,
        state: 'paced',
        reason: 'paced',
        message: `paced to ${round(rate)}/s (${Math.round(f * 100)}% of full speed): at full speed the predicted max wait would be ${Math.round(full.wait)} s, above ${Math.round(limit)} s; now ${Math.round(p.wait)} s`,
        figures: figures(p.wait),
      };
    }
  }
  const idle = predict(0).wait;
  return {
    sendPerSecond: 0,
    state: 'held',
    reason: 'budget',
    message: `held: ${Math.round(base.waiting)} waiting and ${Math.round(pending)} taps still to come from what was sent give a predicted max wait of ${Math.round(idle)} s even without sending (limit ${Math.round(limit)} s)`,
    figures: figures(idle),
  };
}

/** The max wait over the horizon if the campaign sends at `rate` for the lookahead, then stops; and the pending taps. */
function predictMaxWait(input: PacingInput, rate: number, s: PacingSettings): { wait: number; pending: number } {
  const dt = s.stepSeconds;
  const kernelSteps = inflowSteps(input.openModel, dt);
  const sends: Send[] = [...input.sent];
  let left = input.remaining;
  for (let t = 0; t < s.lookaheadSeconds && rate > 0 && left > 0; t += dt) {
    const count = Math.min(rate * dt, left);
    sends.push({ atSeconds: t, count });
    left -= count;
  }
  const horizonSteps = Math.ceil(s.lookaheadSeconds / dt) + kernelSteps + Math.ceil((input.budgetSeconds * 2) / dt);
  const arrivals = expectedArrivals(sends, input.openModel, dt, horizonSteps);
  let pending = 0;
  for (const a of expectedArrivals(input.sent, input.openModel, dt, horizonSteps)) pending += a;
  const other = (input.room.otherArrivalsPerSecond ?? 0) * dt;
  if (other > 0) for (let t = 0; t < arrivals.length; t++) arrivals[t] = (arrivals[t] as number) + other;
  const flow = simulateRoom({
    stepSeconds: dt,
    capacity: input.room.capacity,
    start: { waiting: input.room.waiting, active: input.room.active },
    arrivals,
    maxSteps: horizonSteps,
  });
  const wait = flow.drained || other > 0 ? flow.waits.max : Math.max(flow.waits.max, horizonSteps * dt);
  return { wait, pending };
}

/**
 * The next wave's size from how the previous one went: held at any point → half of it (at least one batch); sent at
 * full speed throughout → half as large again (at most twice the planned size); slowed but never held → the same.
 */
export function nextWaveSize(
  previous: number,
  planned: number,
  batchSize: number,
  lastWave: { held: boolean; paced: boolean } | null,
): number {
  if (!lastWave) return planned;
  if (lastWave.held) return Math.max(batchSize, Math.floor(previous / 2));
  if (!lastWave.paced) return Math.max(batchSize, Math.min(planned * 2, Math.ceil(previous * 1.5)));
  return Math.max(batchSize, previous);
}

const round = (n: number) => Math.round(n * 10) / 10;
