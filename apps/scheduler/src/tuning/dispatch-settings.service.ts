import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import type { Caller } from '@tidegate/auth';
import {
  DISPATCH_SCOPE,
  DispatchSettingsRepository,
  InvalidDispatchSettingsError,
  type DispatchSettingsPatch,
  type SettingChange,
} from '@tidegate/database';
import type { DispatchSettings, FieldError } from '@tidegate/domain';
import type { CampaignProblem } from '../campaigns/campaign-content';
import { invalid } from '../campaigns/campaigns.service';
import {
  SETTING_FIELDS,
  type DispatchSettingsValuesView,
  type DispatchSettingsView,
  type ListChangesQuery,
  type SettingChangePageView,
  type SettingChangeView,
  type UpdateDispatchSettingsDto,
} from './tuning.dto';

export type Actor = Pick<Caller, 'keyId' | 'keyName'>;

export const DEFAULT_CHANGES_PAGE = 50;
export const MAX_CHANGES_PAGE = 200;
const CURSOR = /^[1-9][0-9]{0,18}$/;

/** DispatchSettings' field names → API names (the longest prefix wins: `providerPerMinute.fcm`). */
const API_FIELDS: Array<[string, string]> = [
  ['batchSize', 'batch_size'],
  ['waveSize', 'wave_size'],
  ['intervalSeconds', 'interval_seconds'],
  ['globalPerMinute', 'rate_limits.global'],
  ['providerPerMinute', 'rate_limits.per_provider'],
  ['errorRateThreshold', 'error_rate.threshold'],
  ['invalidRateThreshold', 'error_rate.invalid_threshold'],
  ['errorRateMinSample', 'error_rate.min_sample'],
  ['maxAttempts', 'max_attempts'],
  ['roomPressureLimit', 'room_pressure_limit'],
  ['openRate', 'open_model.open_rate'],
  ['openDelayMedianSeconds', 'open_model.median_delay_seconds'],
  ['openDelaySigma', 'open_model.sigma'],
];

export function apiSettingField(field: string): string {
  for (const [from, to] of API_FIELDS) {
    if (field === from) return to;
    if (field.startsWith(`${from}.`)) return `${to}${field.slice(from.length)}`;
  }
  return field;
}

const toProblem = (e: FieldError): CampaignProblem => ({ field: apiSettingField(e.field), code: e.code, message: e.message });

export function toSettingsValues(s: DispatchSettings): DispatchSettingsValuesView {
  return {
    batch_size: s.batchSize,
    wave_size: s.waveSize,
    interval_seconds: s.intervalSeconds,
    rate_limits: {
      global: s.globalPerMinute,
      per_provider: { fcm: s.providerPerMinute.fcm, apns: s.providerPerMinute.apns, webpush: s.providerPerMinute.webpush },
    },
    error_rate: { threshold: s.errorRateThreshold, invalid_threshold: s.invalidRateThreshold, min_sample: s.errorRateMinSample },
    max_attempts: s.maxAttempts,
    room_pressure_limit: s.roomPressureLimit,
    open_model: { open_rate: s.openRate, median_delay_seconds: s.openDelayMedianSeconds, sigma: s.openDelaySigma },
  };
}

/** The body in DispatchSettings' names; fields left out stay undefined (kept as they are). */
export function toSettingsPatch(dto: UpdateDispatchSettingsDto): DispatchSettingsPatch {
  const patch: DispatchSettingsPatch = {
    batchSize: dto.batch_size,
    waveSize: dto.wave_size,
    intervalSeconds: dto.interval_seconds,
    globalPerMinute: dto.rate_limits?.global,
    errorRateThreshold: dto.error_rate?.threshold,
    invalidRateThreshold: dto.error_rate?.invalid_threshold,
    errorRateMinSample: dto.error_rate?.min_sample,
    maxAttempts: dto.max_attempts,
    roomPressureLimit: dto.room_pressure_limit,
    openRate: dto.open_model?.open_rate,
    openDelayMedianSeconds: dto.open_model?.median_delay_seconds,
    openDelaySigma: dto.open_model?.sigma,
  };
  const providers = dto.rate_limits?.per_provider;
  if (providers) patch.providerPerMinute = { fcm: providers.fcm, apns: providers.apns, webpush: providers.webpush };
  return patch;
}

/**
 * A logged value in API spelling: the system settings as GET shows them, a campaign's `{ waveSize,
 * campaignPerMinute }` as `{ wave_size, rate_per_minute }`; other scopes as stored.
 */
function apiValue(scope: string, value: unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value === null ? null : { value };
  const v = value as Record<string, unknown>;
  if (scope === DISPATCH_SCOPE) return { ...toSettingsValues(v as unknown as DispatchSettings) };
  if (scope.startsWith('campaign:')) return { wave_size: v.waveSize ?? null, rate_per_minute: v.campaignPerMinute ?? null };
  return v;
}

export function toChangeView(c: SettingChange): SettingChangeView {
  return {
    id: c.id.toString(),
    scope: c.scope,
    actor: c.actor,
    actor_key_id: c.actorKeyId,
    at: c.at,
    old: apiValue(c.scope, c.old),
    new: apiValue(c.scope, c.new) ?? {},
    reason: c.reason,
  };
}

/** Whether a body field sets a value: null does (no limit); an object only if one of its fields does (`{}` does not). */
function setsSomething(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'object' || value === null) return true;
  return Object.values(value).some(setsSomething);
}

/**
 * The system-wide dispatch settings SREs tune at run time, and the change log. A change is judged on the merged
 * result (a wave size below the new batch size is refused) and written with its log row in one transaction; the
 * workers re-read the settings about once a second, so it applies without a restart.
 */
@Injectable()
export class DispatchSettingsService {
  private readonly logger = new Logger('DispatchSettings');

  constructor(private readonly settings: DispatchSettingsRepository) {}

  async get(): Promise<DispatchSettingsView> {
    const record = await this.settings.read();
    return { ...toSettingsValues(record.settings), updated_at: record.updatedAt, updated_by: record.updatedBy };
  }

  async update(dto: UpdateDispatchSettingsDto, actor: Actor): Promise<DispatchSettingsView> {
    if (!SETTING_FIELDS.some((f) => setsSomething(dto[f]))) {
      throw new BadRequestException([`the body must set at least one of: ${SETTING_FIELDS.join(', ')}`]);
    }
    try {
      const result = await this.settings.update(toSettingsPatch(dto), actor, dto.reason);
      if (result.changed) {
        this.logger.log({
          msg: `dispatch settings changed by ${actor.keyName}: ${describeChange(result.before, result.after.settings)}`,
          event: 'dispatch.settings.change',
          actor: actor.keyName,
          actorKeyId: actor.keyId,
          changeId: result.change?.id.toString(),
        });
      }
      const { settings, updatedAt, updatedBy } = result.after;
      return { ...toSettingsValues(settings), updated_at: updatedAt, updated_by: updatedBy };
    } catch (err) {
      if (err instanceof InvalidDispatchSettingsError) throw invalid(err.errors.map(toProblem));
      throw err;
    }
  }

  async changes(query: ListChangesQuery): Promise<SettingChangePageView> {
    const limit = query.limit ?? DEFAULT_CHANGES_PAGE;
    if (limit < 1 || limit > MAX_CHANGES_PAGE) throw new BadRequestException([`limit must be from 1 to ${MAX_CHANGES_PAGE}`]);
    if (query.cursor !== undefined && !CURSOR.test(query.cursor)) {
      throw new BadRequestException(['cursor must be the next_cursor of a previous page']);
    }
    const rows = await this.settings.listChanges({
      scope: query.scope,
      limit: limit + 1,
      before: query.cursor === undefined ? undefined : BigInt(query.cursor),
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toChangeView), next_cursor: rows.length > limit && last ? last.id.toString() : null };
  }
}

/** `batch_size 500 → 200, rate_limits.per_provider.apns null → 900` */
function describeChange(before: DispatchSettings, after: DispatchSettings): string {
  const flat = (s: DispatchSettings): Record<string, unknown> => {
    const { providerPerMinute, ...rest } = s;
    return { ...rest, ...Object.fromEntries(Object.entries(providerPerMinute).map(([k, v]) => [`providerPerMinute.${k}`, v])) };
  };
  const a = flat(before);
  const b = flat(after);
  return Object.keys(b)
    .filter((k) => a[k] !== b[k])
    .map((k) => `${apiSettingField(k)} ${JSON.stringify(a[k])} → ${JSON.stringify(b[k])}`)
    .join(', ');
}
