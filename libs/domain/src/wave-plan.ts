/**
 * Wave planning: how a campaign's audience is cut into waves of batches, and when each wave goes out, given the
 * interval between waves, the rate limits and the idle-hour send window. This is what the preview endpoint returns
 * and what the scheduler's planner follows; it computes times only (no devices, no I/O, the clock is passed in).
 *
 * The model (docs/dispatch.md has the reasoning):
 * - The audience is sent in order, `waveSize` recipients per wave (the last wave takes what is left), each wave in
 *   batches of `batchSize` (the last batch of a wave may be short). Batches are what send jobs carry.
 * - Messages go out at the effective rate R (messages per minute): a wave of N takes N / R minutes of open window.
 * - Wave 1 starts at `startAt` (default: now). Wave k+1 starts at max(start of wave k + interval, end of wave k).
 * - With a send window, a wave due while the window is shut starts at the next opening; a wave still sending when the
 *   window closes stops there and its remaining messages go out from the next opening (one `segment` per stretch).
 * - Computation is bounded: at most {@link MAX_PLAN_WAVES} waves and {@link MAX_PLAN_SPAN_MS} from start to finish;
 *   larger plans are refused with a field error instead of computed.
 */
import { type FieldError, fieldPath, isRecord } from './field-errors';
import { type SendWindow, validateSendWindow, windowOpenings } from './send-window';
import { DAY_MS, MINUTE_MS } from './time-zone';

export const PUSH_PLATFORMS = ['fcm', 'apns', 'webpush'] as const;
/** A push provider, as stored on devices. */
export type PushPlatform = (typeof PUSH_PLATFORMS)[number];

/** Largest batch a send job may carry (FCM's and our own per-job bound). */
export const MAX_BATCH_SIZE = 500;
/**
 * The smallest rate limit, messages per minute. Lower ones mean nothing useful and break the arithmetic of the rate
 * buckets (a booking years ahead).
 */
export const MIN_RATE_PER_MINUTE = 1;
/** FCM HTTP v1's default quota per project, messages per minute. */
export const FCM_DEFAULT_RATE_PER_MINUTE = 600_000;
/**
 * Provider quotas to assume when nothing else is configured. Only FCM publishes one; APNs and Web Push services do
 * not, so none is assumed for them. `planWaves` does not apply these itself: the caller merges its defaults first.
 */
export const DEFAULT_PROVIDER_RATES_PER_MINUTE: Readonly<Partial<Record<PushPlatform, number>>> = { fcm: FCM_DEFAULT_RATE_PER_MINUTE };

/** Most waves a plan may have. */
export const MAX_PLAN_WAVES = 100_000;
/** Longest a plan may last, from its start to its last message. */
export const MAX_PLAN_SPAN_MS = 366 * DAY_MS;
/** How far in the past `startAt` may be (clock skew, a form submitted a little late) before it is refused. */
export const DEFAULT_START_TOLERANCE_MS = 5 * MINUTE_MS;

/** Rate limits in messages per minute; an absent or null limit does not apply. */
export interface RateLimits {
  /** The whole system's sending rate. */
  globalPerMinute?: number | null;
  /** This campaign's own rate. */
  campaignPerMinute?: number | null;
  /** Each provider's quota (FCM's default: 600,000). */
  providerPerMinute?: Partial<Record<PushPlatform, number | null>> | null;
}

export interface WavePlanInput {
  /** Recipients to send to (an exact count or an estimate), a whole number ≥ 0. */
  audienceSize: number;
  /**
   * Optional: how the audience splits across providers, as counts or weights (`{ fcm: 700, apns: 300 }`). With it,
   * a provider's quota limits only its share (a 1,000/min APNs quota with 30% APNs allows 3,333/min overall); without
   * it, every provider quota given applies to the whole audience (the conservative reading).
   */
  platformMix?: Partial<Record<PushPlatform, number>> | null;
  /** Recipients per send job, 1 to {@link MAX_BATCH_SIZE}. */
  batchSize: number;
  /** Recipients per wave, at least `batchSize` (need not be a multiple of it). */
  waveSize: number;
  /** Seconds from one wave's start to the next's, at least (≥ 0; fractions allowed). */
  intervalSeconds: number;
  rateLimits?: RateLimits | null;
  /** Idle-hour send window; absent or null: send at any time. */
  sendWindow?: SendWindow | null;
  /** When wave 1 may start (a Date, or an ISO 8601 string with `Z` or an offset); default: `now`. */
  startAt?: Date | string | null;
}

export interface PlanOptions {
  /** The current instant: the default start, and what "in the past" is measured against. */
  now: Date;
  /** How far before `now` a `startAt` is still accepted; default {@link DEFAULT_START_TOLERANCE_MS}. */
  startToleranceMs?: number;
}

/** Which limit set the effective rate. */
export type RateLimitSource = 'global' | 'campaign' | `provider:${PushPlatform}`;

export interface EffectiveRate {
  /** Messages per minute; `Infinity` when no limit applies. */
  perMinute: number;
  /** The limit that is the minimum; null when none applies. */
  limitedBy: RateLimitSource | null;
}

/**
 * Why a wave starts when it does:
 * - `scheduled`: wave 1, at the requested start;
 * - `interval`: the previous wave's start plus the interval (the previous wave had finished by then);
 * - `previous_wave`: the previous wave was still sending at start + interval (the rate, not the interval, paces);
 * - `window`: the send window was shut at the time it was due, so it starts at the next opening.
 */
export type WaveStartReason = 'scheduled' | 'interval' | 'previous_wave' | 'window';

/** A stretch of sending within one opening of the window. */
export interface WaveSegment {
  from: Date;
  to: Date;
  /** Messages expected to go out in this stretch. */
  messages: number;
}

export interface PlannedWave {
  /** 1-based wave number (also the `wave` in job ids and stats). */
  wave: number;
  startsAt: Date;
  /** When its last message is expected to go out (after any pause for the window). */
  endsAt: Date;
  /** Recipients in this wave. */
  size: number;
  /** Send jobs in this wave: ceil(size / batchSize). */
  batches: number;
  startReason: WaveStartReason;
  /** Sending stretches: one, or more when the window closed while the wave was sending. */
  segments: WaveSegment[];
}

export interface WavePlan {
  /** The requested start (`startAt`, or `now`). */
  startAt: Date;
  /** When the last message is expected to go out; null when the audience is empty. */
  finishesAt: Date | null;
  audienceSize: number;
  waveCount: number;
  batchCount: number;
  /** The effective rate in messages per minute; null when no limit applies (waves send instantly in the model). */
  ratePerMinute: number | null;
  rateLimitedBy: RateLimitSource | null;
  waves: PlannedWave[];
}

export type WavePlanResult = { ok: true; plan: WavePlan } | { ok: false; errors: FieldError[] };

/**
 * The effective sending rate: the minimum of the global, campaign and provider limits that apply. A provider's quota
 * applies to its share of `platformMix` (quota / share), or in full when the mix is unknown; a provider absent
 * from the mix (share 0) is not limiting.
 */
export function effectiveRate(
  limits: RateLimits | null | undefined,
  platformMix?: Partial<Record<PushPlatform, number>> | null,
): EffectiveRate {
  const candidates: [number, RateLimitSource][] = [];
  if (isSet(limits?.globalPerMinute)) candidates.push([limits.globalPerMinute, 'global']);
  if (isSet(limits?.campaignPerMinute)) candidates.push([limits.campaignPerMinute, 'campaign']);
  const mixTotal = platformMix ? PUSH_PLATFORMS.reduce((sum, p) => sum + (platformMix[p] ?? 0), 0) : 0;
  for (const platform of PUSH_PLATFORMS) {
    const quota = limits?.providerPerMinute?.[platform];
    if (!isSet(quota)) continue;
    const share = platformMix && mixTotal > 0 ? (platformMix[platform] ?? 0) / mixTotal : 1;
    if (share > 0) candidates.push([quota / share, `provider:${platform}`]);
  }
  let best: EffectiveRate = { perMinute: Infinity, limitedBy: null };
  for (const [perMinute, source] of candidates) if (perMinute < best.perMinute) best = { perMinute, limitedBy: source };
  return best;
}

function isSet(value: number | null | undefined): value is number {
  return value !== null && value !== undefined;
}

/** The batch sizes of a wave of `size` recipients: full batches, then a short one if `size` is not a multiple. */
export function batchSizes(size: number, batchSize: number): number[] {
  const sizes: number[] = [];
  for (let left = size; left > 0; left -= batchSize) sizes.push(Math.min(batchSize, left));
  return sizes;
}

/**
 * Field-level errors in a wave-plan input (empty when valid). Takes `unknown` so it can check a decoded request
 * body: missing fields, wrong types, batch size outside 1–500, wave size 0 or below the batch size, a negative
 * interval, rates of 0 or below, an invalid send window, a `startAt` in the past beyond the tolerance, and plans
 * too large to compute (more than {@link MAX_PLAN_WAVES} waves).
 */
export function validateWavePlan(input: unknown, options: PlanOptions): FieldError[] {
  if (!isRecord(input)) return [{ field: 'body', code: 'invalid_type', message: 'must be an object' }];
  const errors: FieldError[] = [];
  const audienceSize = wholeNumber(input.audienceSize, 'audienceSize', 0, Number.MAX_SAFE_INTEGER, errors);
  const batchSize = wholeNumber(input.batchSize, 'batchSize', 1, MAX_BATCH_SIZE, errors);
  const waveSize = wholeNumber(input.waveSize, 'waveSize', 1, Number.MAX_SAFE_INTEGER, errors);
  if (batchSize !== null && waveSize !== null && waveSize < batchSize) {
    errors.push({ field: 'waveSize', code: 'less_than_batch_size', message: `must be at least the batch size (${batchSize})` });
  }
  if (audienceSize !== null && waveSize !== null && Math.ceil(audienceSize / waveSize) > MAX_PLAN_WAVES) {
    errors.push({
      field: 'waveSize',
      code: 'too_many_waves',
      message: `${Math.ceil(audienceSize / waveSize)} waves is more than ${MAX_PLAN_WAVES}: use waves of at least ${Math.ceil(audienceSize / MAX_PLAN_WAVES)}`,
    });
  }
  const interval = input.intervalSeconds;
  if (interval === undefined || interval === null)
    errors.push({ field: 'intervalSeconds', code: 'required', message: 'is required (seconds, 0 or more)' });
  else if (typeof interval !== 'number' || !Number.isFinite(interval))
    errors.push({ field: 'intervalSeconds', code: 'invalid_type', message: 'must be a number' });
  else if (interval < 0 || interval * 1000 > MAX_PLAN_SPAN_MS) {
    errors.push({ field: 'intervalSeconds', code: 'out_of_range', message: `must be between 0 and ${MAX_PLAN_SPAN_MS / 1000} seconds` });
  }
  validateRateLimits(input.rateLimits, errors);
  validatePlatformMix(input.platformMix, errors);
  if (input.sendWindow !== undefined && input.sendWindow !== null) errors.push(...validateSendWindow(input.sendWindow, 'sendWindow'));
  if (input.startAt !== undefined && input.startAt !== null) {
    const startAt = toInstant(input.startAt);
    const tolerance = options.startToleranceMs ?? DEFAULT_START_TOLERANCE_MS;
    if (startAt === null) {
      errors.push({
        field: 'startAt',
        code: 'invalid_date',
        message: 'must be an ISO 8601 date-time with Z or an offset, e.g. 2026-03-29T01:00:00+01:00',
      });
    } else if (startAt.getTime() < options.now.getTime() - tolerance) {
      errors.push({ field: 'startAt', code: 'in_the_past', message: `${startAt.toISOString()} is in the past` });
    }
  }
  return errors;
}

function wholeNumber(value: unknown, field: string, min: number, max: number, errors: FieldError[]): number | null {
  if (value === undefined || value === null) {
    errors.push({ field, code: 'required', message: 'is required' });
    return null;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    errors.push({ field, code: 'invalid_type', message: 'must be a number' });
    return null;
  }
  if (!Number.isInteger(value)) {
    errors.push({ field, code: 'not_an_integer', message: 'must be a whole number' });
    return null;
  }
  if (value < min || value > max) {
    errors.push({
      field,
      code: 'out_of_range',
      message: max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}` : `must be between ${min} and ${max}`,
    });
    return null;
  }
  return value;
}

/** A rate of at least MIN_RATE_PER_MINUTE (messages per minute); null or absent is allowed (no limit). */
function rate(value: unknown, field: string, errors: FieldError[]): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value))
    errors.push({ field, code: 'invalid_type', message: 'must be a number (messages per minute)' });
  else if (value < MIN_RATE_PER_MINUTE)
    errors.push({
      field,
      code: 'out_of_range',
      message: `must be at least ${MIN_RATE_PER_MINUTE} message per minute (omit it for no limit)`,
    });
}

function validateRateLimits(value: unknown, errors: FieldError[]): void {
  if (value === undefined || value === null) return;
  if (!isRecord(value)) {
    errors.push({ field: 'rateLimits', code: 'invalid_type', message: 'must be an object' });
    return;
  }
  rate(value.globalPerMinute, 'rateLimits.globalPerMinute', errors);
  rate(value.campaignPerMinute, 'rateLimits.campaignPerMinute', errors);
  const providers = value.providerPerMinute;
  if (providers === undefined || providers === null) return;
  const field = 'rateLimits.providerPerMinute';
  if (!isRecord(providers)) {
    errors.push({ field, code: 'invalid_type', message: 'must be an object, e.g. { "fcm": 600000 }' });
    return;
  }
  for (const [key, quota] of Object.entries(providers)) {
    if (!isPlatform(key))
      errors.push({ field: fieldPath(field, key), code: 'unknown_platform', message: `must be one of ${PUSH_PLATFORMS.join(', ')}` });
    else rate(quota, fieldPath(field, key), errors);
  }
}

function validatePlatformMix(value: unknown, errors: FieldError[]): void {
  if (value === undefined || value === null) return;
  const field = 'platformMix';
  if (!isRecord(value)) {
    errors.push({ field, code: 'invalid_type', message: 'must be an object, e.g. { "fcm": 700, "apns": 300 }' });
    return;
  }
  let total = 0;
  let valid = true;
  for (const [key, weight] of Object.entries(value)) {
    const path = fieldPath(field, key);
    if (!isPlatform(key)) errors.push({ field: path, code: 'unknown_platform', message: `must be one of ${PUSH_PLATFORMS.join(', ')}` });
    else if (typeof weight !== 'number' || !Number.isFinite(weight))
      errors.push({ field: path, code: 'invalid_type', message: 'must be a number' });
    else if (weight < 0) errors.push({ field: path, code: 'out_of_range', message: 'must be 0 or more' });
    else {
      total += weight;
      continue;
    }
    valid = false;
  }
  if (valid && total <= 0) errors.push({ field, code: 'out_of_range', message: 'must give at least one provider a share above 0' });
}

function isPlatform(value: string): value is PushPlatform {
  return (PUSH_PLATFORMS as readonly string[]).includes(value);
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** A valid Date, or an ISO 8601 string with `Z` or an offset (a bare local time would be ambiguous); else null. */
function toInstant(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Where sending may happen: the current opening of the window, walked forward only. */
interface Openings {
  /** The earliest instant ≥ t at which sending is allowed (t must not go backwards between calls). */
  openAt(t: number): number;
  /** When the opening that contains `t` (as returned by `openAt`) closes; Infinity without a window. */
  closesAfter(t: number): number;
}

function openingsOf(window: SendWindow | null | undefined, from: number): Openings {
  if (window === null || window === undefined) return { openAt: (t) => t, closesAfter: () => Infinity };
  const iterator = windowOpenings(window, new Date(from));
  let current = { opens: -Infinity, closes: -Infinity };
  const advance = (t: number): void => {
    while (current.closes <= t) {
      const next = iterator.next();
      if (next.done === true) throw new RangeError('The send window never opens again');
      current = next.value;
    }
  };
  return {
    openAt(t) {
      advance(t);
      return Math.max(t, current.opens);
    },
    closesAfter(t) {
      advance(t);
      return current.closes;
    },
  };
}

/**
 * The schedule of waves for `input`, or the field errors that prevent it (those of {@link validateWavePlan}, plus
 * `plan_too_long` when the plan would last more than {@link MAX_PLAN_SPAN_MS}). Deterministic: the same input and
 * `now` always give the same plan.
 */
export function planWaves(input: WavePlanInput, options: PlanOptions): WavePlanResult {
  const errors = validateWavePlan(input, options);
  if (errors.length > 0) return { ok: false, errors };

  const startAt = toInstant(input.startAt) ?? options.now;
  const start = startAt.getTime();
  const deadline = start + MAX_PLAN_SPAN_MS;
  const rate = effectiveRate(input.rateLimits, input.platformMix);
  const intervalMs = Math.round(input.intervalSeconds * 1000);
  const openings = openingsOf(input.sendWindow, start);
  const tooLong = (): WavePlanResult => ({
    ok: false,
    errors: [
      {
        field: 'plan',
        code: 'plan_too_long',
        message: `the plan would last more than ${MAX_PLAN_SPAN_MS / DAY_MS} days: raise the rate limits or the wave size, shorten the interval, or widen the send window`,
      },
    ],
  });

  const waves: PlannedWave[] = [];
  let batchCount = 0;
  let previous: { start: number; end: number } | null = null;
  for (let offset = 0, wave = 1; offset < input.audienceSize; offset += input.waveSize, wave++) {
    const size = Math.min(input.waveSize, input.audienceSize - offset);
    let due = start;
    let startReason: WaveStartReason = 'scheduled';
    if (previous !== null) {
      const byInterval = previous.start + intervalMs;
      due = Math.max(byInterval, previous.end);
      startReason = previous.end > byInterval ? 'previous_wave' : 'interval';
    }
    if (due > deadline) return tooLong();
    const startsAt = openings.openAt(due);
    if (startsAt > due) startReason = 'window';
    if (startsAt > deadline) return tooLong();

    // Send for `durationMs` of open window, from `startsAt`, pausing whenever the window closes.
    const durationMs = Number.isFinite(rate.perMinute) ? Math.ceil((size * MINUTE_MS) / rate.perMinute) : 0;
    const segments: WaveSegment[] = [];
    let t = startsAt;
    let elapsed = 0;
    let sent = 0;
    for (;;) {
      const closes = openings.closesAfter(t);
      const stretch = Math.min(durationMs - elapsed, closes - t);
      elapsed += stretch;
      const upTo = elapsed >= durationMs ? size : Math.floor((size * elapsed) / durationMs);
      segments.push({ from: new Date(t), to: new Date(t + stretch), messages: upTo - sent });
      sent = upTo;
      if (elapsed >= durationMs) {
        t += stretch;
        break;
      }
      t = openings.openAt(closes);
      if (t > deadline) return tooLong();
    }
    if (t > deadline) return tooLong();

    const batches = Math.ceil(size / input.batchSize);
    batchCount += batches;
    waves.push({ wave, startsAt: new Date(startsAt), endsAt: new Date(t), size, batches, startReason, segments });
    previous = { start: startsAt, end: t };
  }

  return {
    ok: true,
    plan: {
      startAt,
      finishesAt: previous === null ? null : new Date(previous.end),
      audienceSize: input.audienceSize,
      waveCount: waves.length,
      batchCount,
      ratePerMinute: Number.isFinite(rate.perMinute) ? rate.perMinute : null,
      rateLimitedBy: rate.limitedBy,
      waves,
    },
  };
}
