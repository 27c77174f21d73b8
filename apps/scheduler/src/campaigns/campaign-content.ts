/**
 * A campaign's content in its two spellings, and the checks between them. Pure code, no I/O, the clock passed in.
 *
 * - The API speaks snake_case (`deep_link`, `wave_plan.batch_size`, `rate_limits.per_provider.fcm`), like the rest of
 *   the admin API.
 * - The JSON columns store what the workers consume, in the libraries' own types: `message` is a
 *   NotificationPayload (libs/push), `audience.segment` a Segment (libs/database), `schedule` and `wavePlan` the
 *   SendWindow, QuietHours and RateLimits of libs/domain. A worker reads a column and calls `payloadFor`,
 *   `segmentWhere`, `planWaves` or `splitByQuietHours` with it, no translation.
 *
 * `checkCampaign` turns a request body (already shape-checked by the DTO's class-validator decorators) into stored
 * content, or lists every problem with the field named in API spelling (`schedule.send_window.end`).
 */
import { MAX_DEVICE_ID, validateSegment, type Segment } from '@tidegate/database';
import {
  DEFAULT_DISPATCH_SETTINGS,
  PUSH_PLATFORMS,
  nextSendTime,
  validateQuietHours,
  validateWavePlan,
  type DispatchSettings,
  type FieldError,
  type PushPlatform,
  type QuietHours,
  type RateLimits,
  type SendWindow,
} from '@tidegate/domain';
import { checkPayload, type NotificationPayload } from '@tidegate/push';

/** Device ids listed inline in an audience, at most. Larger audiences are segments. */
export const MAX_INLINE_DEVICE_IDS = 100_000;
export const MAX_CAMPAIGN_NAME_LENGTH = 200;
const DEVICE_ID = /^[1-9][0-9]{0,18}$/;

// ---- API spelling -------------------------------------------------------------------------------------------------

export interface ApiRateLimits {
  global?: number | null;
  campaign?: number | null;
  per_provider?: Partial<Record<PushPlatform, number | null>> | null;
}

/** On create, patch and preview a missing size or interval takes the system default (GET /admin/dispatch/settings). */
export interface ApiWavePlan {
  batch_size?: number;
  wave_size?: number;
  interval_seconds?: number;
  rate_limits?: ApiRateLimits | null;
  /** The wait budget of the surge this campaign causes, seconds; null or absent: the room's max_wait_seconds. */
  max_wait_seconds?: number | null;
  /** Closed-loop pacing by the room's live state (default true; false: waves leave as planned, nothing holds them). */
  pacing?: boolean;
}

/** The wave plan as stored and shown: every field resolved. */
export type ResolvedApiWavePlan = Required<Omit<ApiWavePlan, 'rate_limits' | 'max_wait_seconds'>> & {
  rate_limits: ApiRateLimits | null;
  max_wait_seconds: number | null;
};

/** The longest wait budget a campaign may set (a day). */
export const MAX_WAIT_BUDGET_SECONDS = 86_400;

/** The system defaults a wave plan's missing fields take (resolved when the campaign is saved, never later). */
export type WavePlanDefaults = Pick<DispatchSettings, 'batchSize' | 'waveSize' | 'intervalSeconds'>;

export interface ApiSchedule {
  start_at?: string | null;
  send_window?: SendWindow | null;
  quiet_hours?: QuietHours | null;
}

export interface ApiAudience {
  segment?: unknown;
  device_ids?: unknown;
}

/** The message in API spelling: NotificationPayload's fields in snake_case (`image` for imageUrl). */
export type ApiMessage = Record<string, unknown>;

/** What create, patch (merged) and preview check. */
export interface CampaignBody {
  name?: string;
  message: ApiMessage;
  audience: ApiAudience;
  schedule?: ApiSchedule | null;
  /** Optional: missing fields (or all of it) take the system defaults. */
  wave_plan?: ApiWavePlan;
  room_id?: string | null;
}

// ---- Stored spelling ----------------------------------------------------------------------------------------------

export type StoredAudience = { segment: Segment } | { deviceIds: string[] };

export interface StoredSchedule {
  /** ISO 8601 as sent (with its offset); null: not chosen yet (a campaign cannot be scheduled without it). */
  startAt: string | null;
  sendWindow: SendWindow | null;
  quietHours: QuietHours | null;
}

export interface StoredWavePlan {
  batchSize: number;
  waveSize: number;
  intervalSeconds: number;
  /** As given (messages per minute); the system's defaults are merged in when planning, not stored. */
  rateLimits: RateLimits | null;
  /** The campaign's wait budget, seconds; null: its room's max_wait_seconds. (Absent in campaigns saved before: null.) */
  maxWaitSeconds: number | null;
  /** Closed-loop pacing by the room (absent in campaigns saved before: true). */
  pacing: boolean;
}

export interface CampaignContent {
  message: NotificationPayload;
  audience: StoredAudience;
  schedule: StoredSchedule;
  wavePlan: StoredWavePlan;
}

/** One problem with one field of a request body, the field in API spelling. */
export interface CampaignProblem {
  field: string;
  code: string;
  message: string;
}

export type CampaignCheck = { ok: true; content: CampaignContent } | { ok: false; errors: CampaignProblem[] };

// ---- Key spelling ---------------------------------------------------------------------------------------------------

const SPECIAL_TO_CAMEL: Record<string, string> = { image: 'imageUrl' };
const SPECIAL_TO_SNAKE: Record<string, string> = { imageUrl: 'image' };
const toCamel = (key: string) => SPECIAL_TO_CAMEL[key] ?? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const toSnake = (key: string) => SPECIAL_TO_SNAKE[key] ?? key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Renames an object's keys recursively, except inside `data` maps (the app's own keys). */
function renameKeys(value: unknown, rename: (key: string) => string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, v]) => [rename(key), key === 'data' ? v : renameKeys(v, rename)]),
  );
}

/** A payload path (`overrides.apns.mutableContent`, `data.from`) in API spelling, under `message`. */
function apiPayloadPath(field: string): string {
  const parts = field.split('.');
  const out: string[] = ['message'];
  for (let i = 0; i < parts.length; i++) {
    out.push(parts[i - 1] === 'data' ? parts[i]! : toSnake(parts[i]!));
  }
  return out.join('.');
}

export const toPayload = (message: ApiMessage): NotificationPayload => renameKeys(message, toCamel) as NotificationPayload;
export const toApiMessage = (payload: NotificationPayload): ApiMessage => renameKeys(payload, toSnake) as ApiMessage;

/** libs/domain's wave-plan field names → API names (the longest prefix wins). */
const WAVE_FIELDS: Array<[string, string]> = [
  ['rateLimits.globalPerMinute', 'wave_plan.rate_limits.global'],
  ['rateLimits.campaignPerMinute', 'wave_plan.rate_limits.campaign'],
  ['rateLimits.providerPerMinute', 'wave_plan.rate_limits.per_provider'],
  ['rateLimits', 'wave_plan.rate_limits'],
  ['batchSize', 'wave_plan.batch_size'],
  ['waveSize', 'wave_plan.wave_size'],
  ['intervalSeconds', 'wave_plan.interval_seconds'],
  ['sendWindow', 'schedule.send_window'],
  ['startAt', 'schedule.start_at'],
  ['audienceSize', 'audience'],
  ['platformMix', 'audience'],
  ['plan', 'wave_plan'],
  ['body', 'wave_plan'],
];

export function apiWaveField(field: string): string {
  for (const [from, to] of WAVE_FIELDS) {
    if (field === from) return to;
    if (field.startsWith(`${from}.`)) return `${to}${field.slice(from.length)}`;
  }
  return field;
}

/** A domain FieldError in API spelling. */
export const fromWaveError = (e: FieldError): CampaignProblem => ({ field: apiWaveField(e.field), code: e.code, message: e.message });

/** `field: reason`, the form every 400 message of this API takes. */
export const describe = (p: CampaignProblem): string => (p.message.startsWith(p.field) ? p.message : `${p.field}: ${p.message}`);

// ---- Conversions --------------------------------------------------------------------------------------------------

export function toRateLimits(api: ApiRateLimits | null | undefined): RateLimits | null {
  if (api === undefined || api === null) return null;
  const limits: RateLimits = {};
  if (api.global !== undefined) limits.globalPerMinute = api.global;
  if (api.campaign !== undefined) limits.campaignPerMinute = api.campaign;
  if (api.per_provider !== undefined) limits.providerPerMinute = api.per_provider;
  return limits;
}

export function toApiRateLimits(limits: RateLimits | null): ApiRateLimits | null {
  if (limits === null) return null;
  const api: ApiRateLimits = {};
  if (limits.globalPerMinute !== undefined) api.global = limits.globalPerMinute;
  if (limits.campaignPerMinute !== undefined) api.campaign = limits.campaignPerMinute;
  if (limits.providerPerMinute !== undefined) api.per_provider = limits.providerPerMinute;
  return api;
}

export function toApiAudience(audience: StoredAudience): { segment?: Segment; device_ids?: string[] } {
  return 'segment' in audience ? { segment: audience.segment } : { device_ids: audience.deviceIds };
}

export function toApiSchedule(schedule: StoredSchedule): ApiSchedule {
  return { start_at: schedule.startAt, send_window: schedule.sendWindow, quiet_hours: schedule.quietHours };
}

export function toApiWavePlan(plan: StoredWavePlan): ResolvedApiWavePlan {
  return {
    batch_size: plan.batchSize,
    wave_size: plan.waveSize,
    interval_seconds: plan.intervalSeconds,
    rate_limits: toApiRateLimits(plan.rateLimits),
    max_wait_seconds: plan.maxWaitSeconds,
    pacing: plan.pacing,
  };
}

/** The API body of stored content (for PATCH: merge the patch over it, check the result). */
export function toApiBody(name: string, content: CampaignContent, roomId: string | null): CampaignBody {
  return {
    name,
    message: toApiMessage(content.message),
    audience: toApiAudience(content.audience),
    schedule: toApiSchedule(content.schedule),
    wave_plan: toApiWavePlan(content.wavePlan),
    room_id: roomId,
  };
}

// ---- Checks -------------------------------------------------------------------------------------------------------

function checkAudience(value: unknown, errors: CampaignProblem[]): StoredAudience | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push({ field: 'audience', code: 'invalid_type', message: 'must be an object: { "segment": {…} } or { "device_ids": […] }' });
    return null;
  }
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (key !== 'segment' && key !== 'device_ids') {
      errors.push({ field: `audience.${key}`, code: 'unknown_field', message: 'is not an audience field (segment or device_ids)' });
    }
  }
  const hasSegment = raw.segment !== undefined;
  const hasIds = raw.device_ids !== undefined;
  if (hasSegment === hasIds) {
    errors.push({ field: 'audience', code: 'required', message: 'must have exactly one of segment or device_ids' });
    return null;
  }
  if (hasSegment) {
    const checked = validateSegment(raw.segment, 'audience.segment');
    if (!checked.ok) {
      errors.push(...checked.errors);
      return null;
    }
    return { segment: checked.segment };
  }
  const ids = raw.device_ids;
  const field = 'audience.device_ids';
  if (!Array.isArray(ids)) {
    errors.push({ field, code: 'invalid_type', message: 'must be an array of device ids' });
    return null;
  }
  if (ids.length === 0 || ids.length > MAX_INLINE_DEVICE_IDS) {
    errors.push({
      field,
      code: 'out_of_range',
      message: `must list 1 to ${MAX_INLINE_DEVICE_IDS} device ids (use a segment for more), not ${ids.length}`,
    });
    return null;
  }
  const out = new Set<string>();
  let bad = 0;
  ids.forEach((id: unknown, i) => {
    const text = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
    if (typeof text === 'string' && DEVICE_ID.test(text) && BigInt(text) <= MAX_DEVICE_ID) out.add(text);
    else if (++bad <= 5) {
      errors.push({ field: `${field}[${i}]`, code: 'invalid_device_id', message: `${JSON.stringify(id)} is not a device id (digits)` });
    }
  });
  return bad > 0 ? null : { deviceIds: [...out] };
}

/** The platforms an audience may reach: a segment's `platforms`, else all of them. */
export function audiencePlatforms(audience: StoredAudience | null): readonly PushPlatform[] {
  return audience && 'segment' in audience && audience.segment.platforms ? audience.segment.platforms : PUSH_PLATFORMS;
}

export interface CheckOptions {
  now: Date;
  /** What a missing batch size, wave size or interval becomes (default: the built-in DEFAULT_DISPATCH_SETTINGS). */
  waveDefaults?: WavePlanDefaults;
  /** How far in the past `schedule.start_at` may be (default 5 minutes; a PATCH that keeps the start passes Infinity). */
  startToleranceMs?: number;
}

/** Domain fields that may hold a system default, and the body field that would have set them. */
const DEFAULTED_NOTE: Record<string, 'batch_size' | 'wave_size' | 'interval_seconds'> = {
  batchSize: 'batch_size',
  waveSize: 'wave_size',
  intervalSeconds: 'interval_seconds',
};

/** True when the body leaves a wave-plan field to the system defaults (so the caller must read them). */
export function needsWaveDefaults(body: Pick<CampaignBody, 'wave_plan'>): boolean {
  const plan = body.wave_plan;
  return plan === undefined || plan.batch_size === undefined || plan.wave_size === undefined || plan.interval_seconds === undefined;
}

/**
 * Every problem of a campaign body (shapes already checked by class-validator), or its stored content. The room is
 * not checked here (it needs the database). Wave-plan fields the body leaves out take `options.waveDefaults`, and the
 * content holds them resolved: later changes of the defaults never change a saved campaign.
 */
export function checkCampaign(body: CampaignBody, options: CheckOptions): CampaignCheck {
  const errors: CampaignProblem[] = [];
  const audience = checkAudience(body.audience, errors);

  const message = toPayload(body.message);
  for (const problem of checkPayload(message, audiencePlatforms(audience))) {
    const field = problem.code === 'payload_too_large' ? 'message' : apiPayloadPath(problem.field);
    const text = problem.message.startsWith(`${problem.field} `) ? problem.message.slice(problem.field.length + 1) : problem.message;
    errors.push({ field, code: problem.code, message: text });
  }

  const schedule = body.schedule ?? {};
  if (schedule.quiet_hours !== undefined && schedule.quiet_hours !== null) {
    errors.push(...validateQuietHours(schedule.quiet_hours, 'schedule.quiet_hours'));
  }
  const plan = body.wave_plan ?? {};
  const defaults = options.waveDefaults ?? DEFAULT_DISPATCH_SETTINGS;
  const batchSize = plan.batch_size ?? defaults.batchSize;
  const waveSize = plan.wave_size ?? defaults.waveSize;
  const intervalSeconds = plan.interval_seconds ?? defaults.intervalSeconds;
  const rateLimits = toRateLimits(plan.rate_limits);
  const maxWaitSeconds = plan.max_wait_seconds ?? null;
  if (maxWaitSeconds !== null && (!Number.isInteger(maxWaitSeconds) || maxWaitSeconds < 1 || maxWaitSeconds > MAX_WAIT_BUDGET_SECONDS)) {
    errors.push({
      field: 'wave_plan.max_wait_seconds',
      code: 'out_of_range',
      message: `must be a whole number of seconds from 1 to ${MAX_WAIT_BUDGET_SECONDS} (or null: the room's max wait)`,
    });
  }
  errors.push(
    ...validateWavePlan(
      {
        audienceSize: 0,
        batchSize,
        waveSize,
        intervalSeconds,
        rateLimits,
        sendWindow: schedule.send_window ?? null,
        startAt: schedule.start_at ?? null,
      },
      { now: options.now, startToleranceMs: options.startToleranceMs },
    ).map((e) => {
      const problem = fromWaveError(e);
      const defaulted = DEFAULTED_NOTE[e.field];
      return defaulted && plan[defaulted] === undefined ? { ...problem, message: `${problem.message} (the system default)` } : problem;
    }),
  );

  if (errors.length > 0 || audience === null) return { ok: false, errors };
  return {
    ok: true,
    content: {
      message,
      audience,
      schedule: { startAt: schedule.start_at ?? null, sendWindow: schedule.send_window ?? null, quietHours: schedule.quiet_hours ?? null },
      wavePlan: { batchSize, waveSize, intervalSeconds, rateLimits, maxWaitSeconds, pacing: plan.pacing ?? true },
    },
  };
}

/**
 * Things worth telling a marketer that do not make the campaign invalid: a send window and quiet hours that leave
 * no instant to send to recipients in the window's own zone (docs/dispatch.md).
 */
export function campaignWarnings(content: CampaignContent, now: Date): string[] {
  const { sendWindow, quietHours } = content.schedule;
  if (!sendWindow || !quietHours) return [];
  if (nextSendTime(sendWindow, quietHours, sendWindow.timezone, now) !== null) return [];
  return [
    `schedule: the send window ${sendWindow.start}-${sendWindow.end} (${sendWindow.timezone}) lies inside the quiet hours ` +
      `${quietHours.start}-${quietHours.end}: recipients in ${sendWindow.timezone} would never be sent to`,
  ];
}

/** The stored columns read back (they were written by `checkCampaign`). */
export function readContent(columns: { message: unknown; audience: unknown; schedule: unknown; wavePlan: unknown }): CampaignContent {
  return {
    message: columns.message as NotificationPayload,
    audience: columns.audience as StoredAudience,
    schedule: columns.schedule as StoredSchedule,
    wavePlan: readWavePlan(columns.wavePlan as Partial<StoredWavePlan> & Omit<StoredWavePlan, 'maxWaitSeconds' | 'pacing'>),
  };
}

/** A stored wave plan, with the fields later versions added filled in for campaigns saved before them. */
function readWavePlan(plan: Partial<StoredWavePlan> & Omit<StoredWavePlan, 'maxWaitSeconds' | 'pacing'>): StoredWavePlan {
  return { ...plan, maxWaitSeconds: plan.maxWaitSeconds ?? null, pacing: plan.pacing ?? true };
}
