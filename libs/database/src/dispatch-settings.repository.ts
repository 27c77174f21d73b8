import { Injectable } from '@nestjs/common';
import { Prisma, type SettingChange } from '@prisma/client';
import {
  applyDispatchSettingsPatch,
  mergeDispatchSettings,
  sameDispatchSettings,
  validateDispatchSettings,
  type DispatchSettings,
  type DispatchSettingsPatch,
  type FieldError,
} from '@tidegate/domain';
import { PrismaService } from './prisma.service';

export type { DispatchSettingsPatch };

/** The scope of the system-wide settings' changes; a campaign's own are `campaign:<id>` (see `campaignScope`). */
export const DISPATCH_SCOPE = 'dispatch';
export const campaignScope = (campaignId: string) => `campaign:${campaignId}`;

/** Who changed a setting: the API key (its id and name), or a process with a name of its own and no key. */
export interface SettingActor {
  keyId: string | null;
  keyName: string;
}

/** One entry of the change log, before it is written. */
export interface SettingChangeInput {
  scope: string;
  actor: SettingActor;
  /** The whole previous value (null: there was none). */
  old: Prisma.InputJsonValue | null;
  /** The whole new value. */
  new: Prisma.InputJsonValue;
  reason?: string | null;
}

/** The settings with who changed them last; `updatedAt` and `updatedBy` are null while only the defaults apply. */
export interface DispatchSettingsRecord {
  settings: DispatchSettings;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export interface DispatchSettingsUpdate {
  /** False when the patch left every value as it was: nothing was written. */
  changed: boolean;
  before: DispatchSettings;
  after: DispatchSettingsRecord;
  /** The change-log row written with the new value (null when nothing changed). */
  change: SettingChange | null;
}

export interface SettingChangeListOptions {
  /** Only this scope (exact: `dispatch`, `campaign:<id>`). */
  scope?: string;
  limit: number;
  /** Only entries older than this one (its id): the cursor of the next page. */
  before?: bigint;
}

/** The merged settings would break a rule; nothing was written. Fields are named as in DispatchSettings. */
export class InvalidDispatchSettingsError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid dispatch settings: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    this.name = 'InvalidDispatchSettingsError';
  }
}

const ROW_ID = 1;
/** The advisory lock that serialises writers of the settings row (a constant pair: 'tide' in ASCII, then 1). */
const LOCK_SQL = Prisma.sql`SELECT 1 AS locked FROM pg_advisory_xact_lock(1952998501, 1)`;
/** Interactive-transaction limits: writers queue on the lock, each for a few milliseconds. */
const TRANSACTION = { maxWait: 10_000, timeout: 15_000 };

const json = (value: DispatchSettings) => value as unknown as Prisma.InputJsonValue;

/** The row a change-log entry is written as (CampaignRepository writes campaign-scope entries in its own transactions). */
export function settingChangeData(input: SettingChangeInput): Prisma.SettingChangeCreateInput {
  return {
    scope: input.scope,
    actor: input.actor.keyName,
    actorKeyId: input.actor.keyId,
    old: input.old === null ? Prisma.DbNull : input.old,
    new: input.new,
    reason: input.reason ?? null,
  };
}

/**
 * System-wide dispatch settings (one JSON row, `dispatch_settings` id 1) and the change log of every run-time tuning
 * change (`setting_changes`). The stored value is the whole settings object, read back over
 * DEFAULT_DISPATCH_SETTINGS (so a field added later takes its default). A change writes the new value and its log row
 * in one transaction, under an advisory lock, so concurrent changes are applied one after the other: none is lost, and
 * each log row's `old` is exactly the value it replaced.
 */
@Injectable()
export class DispatchSettingsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The settings in force (the defaults for whatever was never set). */
  async get(): Promise<DispatchSettings> {
    return (await this.read()).settings;
  }

  /** The settings with who changed them last. */
  async read(): Promise<DispatchSettingsRecord> {
    const row = await this.prisma.dispatchSettings.findUnique({ where: { id: ROW_ID } });
    return { settings: mergeDispatchSettings(row?.value), updatedAt: row?.updatedAt ?? null, updatedBy: row?.updatedBy ?? null };
  }

  /**
   * Applies `patch` over the current settings and, when a value changes, writes the result and a change-log row
   * (scope `dispatch`, old and new the whole settings) in one transaction. A patch that changes nothing writes nothing.
   * @throws InvalidDispatchSettingsError when the result breaks a rule (e.g. a wave size below the batch size).
   */
  update(patch: DispatchSettingsPatch, actor: SettingActor, reason?: string | null): Promise<DispatchSettingsUpdate> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw(LOCK_SQL);
      const row = await tx.dispatchSettings.findUnique({ where: { id: ROW_ID } });
      const before = mergeDispatchSettings(row?.value);
      const after = applyDispatchSettingsPatch(before, patch);
      const errors = validateDispatchSettings(after);
      if (errors.length > 0) throw new InvalidDispatchSettingsError(errors);
      if (sameDispatchSettings(before, after)) {
        return {
          changed: false,
          before,
          after: { settings: before, updatedAt: row?.updatedAt ?? null, updatedBy: row?.updatedBy ?? null },
          change: null,
        };
      }
      const saved = await tx.dispatchSettings.upsert({
        where: { id: ROW_ID },
        create: { id: ROW_ID, value: json(after), updatedBy: actor.keyName },
        update: { value: json(after), updatedBy: actor.keyName },
      });
      const change = await tx.settingChange.create({
        data: settingChangeData({ scope: DISPATCH_SCOPE, actor, old: json(before), new: json(after), reason }),
      });
      return { changed: true, before, after: { settings: after, updatedAt: saved.updatedAt, updatedBy: saved.updatedBy }, change };
    }, TRANSACTION);
  }

  /** Writes one change-log entry for another scope (the caller has applied the change). */
  recordChange(
    scope: string,
    actor: SettingActor,
    old: Prisma.InputJsonValue | null,
    value: Prisma.InputJsonValue,
    reason?: string | null,
  ): Promise<SettingChange> {
    return this.prisma.settingChange.create({ data: settingChangeData({ scope, actor, old, new: value, reason }) });
  }

  /** The change log, newest first (by id: the order they were written), `limit` at most, older than `before`. */
  listChanges(options: SettingChangeListOptions): Promise<SettingChange[]> {
    const where: Prisma.SettingChangeWhereInput = {};
    if (options.scope !== undefined) where.scope = options.scope;
    if (options.before !== undefined) where.id = { lt: options.before };
    return this.prisma.settingChange.findMany({ where, orderBy: { id: 'desc' }, take: options.limit });
  }
}
