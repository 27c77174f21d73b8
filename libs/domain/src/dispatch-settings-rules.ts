/**
 * The rules of the dispatch settings (dispatch-settings.ts): how a stored value is read back over the defaults, how a
 * partial change is applied, and what a valid whole looks like. Pure code; the API (snake_case) and the repository
 * (one JSON row) both go through it, so a value that breaks a rule is never stored.
 *
 * Field names in errors are the settings' own (`batchSize`, `providerPerMinute.fcm`); the admin API renames them.
 */
import { DEFAULT_DISPATCH_SETTINGS, type DispatchSettings } from './dispatch-settings';
import { fieldPath, isRecord, type FieldError } from './field-errors';
import { MAX_BATCH_SIZE, MIN_RATE_PER_MINUTE, PUSH_PLATFORMS, type PushPlatform } from './wave-plan';

/** Attempts per recipient, at most (retries of 429, 5xx and timeouts). */
export const MAX_DISPATCH_ATTEMPTS = 20;
/** The default interval between waves, at most: one day. */
export const MAX_DEFAULT_INTERVAL_SECONDS = 86_400;

/** A partial change: each field given replaces the current one; `providerPerMinute` is merged per provider. */
export type DispatchSettingsPatch = Partial<Omit<DispatchSettings, 'providerPerMinute'>> & {
  providerPerMinute?: Partial<Record<PushPlatform, number | null>>;
};

const KEYS = Object.keys(DEFAULT_DISPATCH_SETTINGS) as Array<keyof DispatchSettings>;

/**
 * The settings a stored JSON value stands for: each known field it holds over the default, `providerPerMinute` per
 * provider. Unknown fields, a value that is not an object, and fields that break a rule (a hand-edited row) are
 * ignored: the defaults stand for them, so a reader always gets valid settings.
 */
export function mergeDispatchSettings(stored: unknown): DispatchSettings {
  const out = copyDispatchSettings(DEFAULT_DISPATCH_SETTINGS);
  if (!isRecord(stored)) return out;
  const merged = applyDispatchSettingsPatch(out, pickPatch(stored));
  // Resetting a field can reveal no new problem but `waveSize < batchSize`, which the second pass resets.
  for (let pass = 0; pass < 2; pass++) {
    const errors = validateDispatchSettings(merged);
    if (errors.length === 0) break;
    for (const { field } of errors) resetToDefault(merged, field);
  }
  return merged;
}

/** Puts the default back for one field named by `validateDispatchSettings` (`waveSize`, `providerPerMinute.fcm`). */
function resetToDefault(settings: DispatchSettings, field: string): void {
  const [key, platform] = field.split('.') as [string, string | undefined];
  if (key === 'providerPerMinute') {
    if (platform && (PUSH_PLATFORMS as readonly string[]).includes(platform)) {
      settings.providerPerMinute[platform as PushPlatform] = DEFAULT_DISPATCH_SETTINGS.providerPerMinute[platform as PushPlatform];
    } else settings.providerPerMinute = { ...DEFAULT_DISPATCH_SETTINGS.providerPerMinute };
  } else if ((KEYS as string[]).includes(key)) {
    (settings as unknown as Record<string, unknown>)[key] = DEFAULT_DISPATCH_SETTINGS[key as keyof DispatchSettings];
  }
}

/** `current` with `patch` applied (a new object; neither argument is changed). Fields left undefined are kept. */
export function applyDispatchSettingsPatch(current: Readonly<DispatchSettings>, patch: DispatchSettingsPatch): DispatchSettings {
  const out = copyDispatchSettings(current);
  for (const key of KEYS) {
    if (key === 'providerPerMinute') continue;
    const value = patch[key];
    if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  }
  for (const platform of PUSH_PLATFORMS) {
    const quota = patch.providerPerMinute?.[platform];
    if (quota !== undefined) out.providerPerMinute[platform] = quota;
  }
  return out;
}

export function copyDispatchSettings(settings: Readonly<DispatchSettings>): DispatchSettings {
  return { ...settings, providerPerMinute: { ...settings.providerPerMinute } };
}

/** True when both hold the same values. */
export function sameDispatchSettings(a: Readonly<DispatchSettings>, b: Readonly<DispatchSettings>): boolean {
  return (
    KEYS.every((key) => key === 'providerPerMinute' || a[key] === b[key]) &&
    PUSH_PLATFORMS.every((platform) => a.providerPerMinute[platform] === b.providerPerMinute[platform])
  );
}

/**
 * Every problem of a whole settings value (after a patch is applied, so `waveSize ≥ batchSize` is judged on the
 * result): batch size 1-500, wave size ≥ batch size, interval 0 to a day, rates above 0 or null, error-rate threshold
 * in (0, 1], minimum sample ≥ 1, attempts 1-20, room pressure limit above 0 or null. Unknown fields are refused.
 */
export function validateDispatchSettings(value: unknown): FieldError[] {
  if (!isRecord(value)) return [{ field: 'settings', code: 'invalid_type', message: 'must be an object' }];
  const errors: FieldError[] = [];
  for (const key of Object.keys(value)) {
    if (!(KEYS as string[]).includes(key)) errors.push({ field: key, code: 'invalid_type', message: 'is not a dispatch setting' });
  }
  const batchSize = wholeNumber(value.batchSize, 'batchSize', 1, MAX_BATCH_SIZE, errors);
  const waveSize = wholeNumber(value.waveSize, 'waveSize', 1, Number.MAX_SAFE_INTEGER, errors);
  if (batchSize !== null && waveSize !== null && waveSize < batchSize) {
    errors.push({ field: 'waveSize', code: 'less_than_batch_size', message: `must be at least the batch size (${batchSize})` });
  }
  const interval = value.intervalSeconds;
  if (typeof interval !== 'number' || !Number.isFinite(interval)) {
    errors.push({ field: 'intervalSeconds', code: interval === undefined ? 'required' : 'invalid_type', message: 'must be a number' });
  } else if (interval < 0 || interval > MAX_DEFAULT_INTERVAL_SECONDS) {
    errors.push({
      field: 'intervalSeconds',
      code: 'out_of_range',
      message: `must be between 0 and ${MAX_DEFAULT_INTERVAL_SECONDS} seconds`,
    });
  }
  positiveOrNull(value.globalPerMinute, 'globalPerMinute', 'messages per minute', errors, MIN_RATE_PER_MINUTE);
  const providers = value.providerPerMinute;
  if (!isRecord(providers)) {
    errors.push({ field: 'providerPerMinute', code: 'invalid_type', message: 'must be an object, e.g. { "fcm": 600000 }' });
  } else {
    for (const [key, quota] of Object.entries(providers)) {
      const field = fieldPath('providerPerMinute', key);
      if (!(PUSH_PLATFORMS as readonly string[]).includes(key)) {
        errors.push({ field, code: 'unknown_platform', message: `must be one of ${PUSH_PLATFORMS.join(', ')}` });
      } else positiveOrNull(quota, field, 'messages per minute', errors, MIN_RATE_PER_MINUTE);
    }
  }
  for (const field of ['errorRateThreshold', 'invalidRateThreshold'] as const) {
    const threshold = value[field];
    if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
      errors.push({ field, code: 'invalid_type', message: 'must be a number (a fraction of results)' });
    } else if (threshold <= 0 || threshold > 1) {
      errors.push({ field, code: 'out_of_range', message: 'must be above 0 and at most 1 (a fraction: 0.5 is 50%)' });
    }
  }
  wholeNumber(value.errorRateMinSample, 'errorRateMinSample', 1, Number.MAX_SAFE_INTEGER, errors);
  wholeNumber(value.maxAttempts, 'maxAttempts', 1, MAX_DISPATCH_ATTEMPTS, errors);
  positiveOrNull(value.roomPressureLimit, 'roomPressureLimit', 'a ratio of estimated wait to max wait', errors);
  fraction(value.openRate, 'openRate', false, errors);
  inRange(value.openDelayMedianSeconds, 'openDelayMedianSeconds', 0.1, 86_400, 'seconds', errors);
  inRange(value.openDelaySigma, 'openDelaySigma', 0.05, 5, 'the spread of ln(delay)', errors);
  return errors;
}

/** The known fields of a stored object, as a patch (values are checked by `validateDispatchSettings`, not here). */
function pickPatch(stored: Record<string, unknown>): DispatchSettingsPatch {
  const patch: Record<string, unknown> = {};
  for (const key of KEYS) {
    if (key === 'providerPerMinute' || stored[key] === undefined) continue;
    patch[key] = stored[key];
  }
  const providers = stored.providerPerMinute;
  if (isRecord(providers)) {
    const quotas: Record<string, unknown> = {};
    for (const platform of PUSH_PLATFORMS) if (providers[platform] !== undefined) quotas[platform] = providers[platform];
    patch.providerPerMinute = quotas;
  }
  return patch;
}

function wholeNumber(value: unknown, field: string, min: number, max: number, errors: FieldError[]): number | null {
  if (value === undefined || value === null) {
    errors.push({ field, code: 'required', message: 'is required' });
  } else if (typeof value !== 'number' || !Number.isFinite(value)) {
    errors.push({ field, code: 'invalid_type', message: 'must be a number' });
  } else if (!Number.isInteger(value)) {
    errors.push({ field, code: 'not_an_integer', message: 'must be a whole number' });
  } else if (value < min || value > max) {
    errors.push({
      field,
      code: 'out_of_range',
      message: max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}` : `must be between ${min} and ${max}`,
    });
  } else return value;
  return null;
}

/** Above 0 (at least `min` when given), or null (no limit). Absent is refused: a whole settings value names every field. */
/** A number from 0 (or above 0 when `open`) to 1. */
function fraction(value: unknown, field: string, open: boolean, errors: FieldError[]): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    errors.push({ field, code: 'invalid_type', message: 'must be a number from 0 to 1' });
  else if (value < 0 || value > 1 || (open && value === 0))
    errors.push({ field, code: 'out_of_range', message: 'must be from 0 to 1 (0.1 is 10%)' });
}

function inRange(value: unknown, field: string, min: number, max: number, unit: string, errors: FieldError[]): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    errors.push({ field, code: 'invalid_type', message: `must be a number (${unit})` });
  else if (value < min || value > max) errors.push({ field, code: 'out_of_range', message: `must be from ${min} to ${max} (${unit})` });
}

function positiveOrNull(value: unknown, field: string, unit: string, errors: FieldError[], min?: number): void {
  if (value === null) return;
  if (value === undefined) errors.push({ field, code: 'required', message: `is required (${unit}, or null for no limit)` });
  else if (typeof value !== 'number' || !Number.isFinite(value))
    errors.push({ field, code: 'invalid_type', message: `must be a number (${unit})` });
  else if (value <= 0) errors.push({ field, code: 'out_of_range', message: 'must be greater than 0 (null for no limit)' });
  else if (min !== undefined && value < min)
    errors.push({ field, code: 'out_of_range', message: `must be at least ${min} (${unit}; null for no limit)` });
}
