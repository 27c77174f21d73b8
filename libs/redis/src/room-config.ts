/**
 * The hot copy of a room's settings in Redis (PostgreSQL stays the source of truth). Admission scripts read this
 * hash on every call, so a change applies to the next arrival on every gateway at once; `roomsVersion` tells
 * gateways to reload the rest (origin, paths) within a second.
 */
import { ROOM_DEFAULTS, type QueueingMethod, type RoomSettings } from '@tidegate/contracts';
import type { RedisClient } from './connection';
import type { RedisKeys } from './keys';
import { defineScript, type ScriptCall } from './scripts';

/** Field names of the config hash, as the Lua scripts read them. */
export const ROOM_CONFIG_FIELDS = {
  totalActiveUsers: 'total_active_users',
  newUsersPerMinute: 'new_users_per_minute',
  sessionDurationSeconds: 'session_duration_seconds',
  queueingMethod: 'queueing_method',
  queueAll: 'queue_all',
  suspended: 'suspended',
  maxWaitSeconds: 'max_wait_seconds',
  originMaxP95Ms: 'origin_max_p95_ms',
  originMaxErrorRate: 'origin_max_error_rate',
  originMinRequests: 'origin_min_requests',
  unhealthyAdmissionFactor: 'unhealthy_admission_factor',
} as const satisfies Record<keyof RoomSettings, string>;

/**
 * Not a setting but live state in the same hash: what the admission rate is multiplied by right now (1, or the
 * room's unhealthy_admission_factor while its origin is unhealthy). The gateways' releasers write it; the admission
 * scripts read it with the settings (room_config in _room-common.lua). Missing means 1.
 */
export const ORIGIN_FACTOR_FIELD = 'origin_factor';

export function encodeRoomSettings(settings: RoomSettings): Record<string, string> {
  return {
    [ROOM_CONFIG_FIELDS.totalActiveUsers]: String(settings.totalActiveUsers),
    [ROOM_CONFIG_FIELDS.newUsersPerMinute]: String(settings.newUsersPerMinute),
    [ROOM_CONFIG_FIELDS.sessionDurationSeconds]: String(settings.sessionDurationSeconds),
    [ROOM_CONFIG_FIELDS.queueingMethod]: settings.queueingMethod,
    [ROOM_CONFIG_FIELDS.queueAll]: settings.queueAll ? '1' : '0',
    [ROOM_CONFIG_FIELDS.suspended]: settings.suspended ? '1' : '0',
    [ROOM_CONFIG_FIELDS.maxWaitSeconds]: String(settings.maxWaitSeconds),
    [ROOM_CONFIG_FIELDS.originMaxP95Ms]: String(settings.originMaxP95Ms),
    [ROOM_CONFIG_FIELDS.originMaxErrorRate]: String(settings.originMaxErrorRate),
    [ROOM_CONFIG_FIELDS.originMinRequests]: String(settings.originMinRequests),
    [ROOM_CONFIG_FIELDS.unhealthyAdmissionFactor]: String(settings.unhealthyAdmissionFactor),
  };
}

export function decodeRoomSettings(hash: Record<string, string>): RoomSettings | null {
  if (Object.keys(hash).length === 0) return null;
  const int = (field: string, fallback: number) => {
    const n = Number(hash[field]);
    return Number.isInteger(n) ? n : fallback;
  };
  const fraction = (field: string, fallback: number) => {
    const raw = hash[field];
    const n = raw === undefined || raw === '' ? NaN : Number(raw);
    return Number.isFinite(n) && n >= 0 && n <= 1 ? n : fallback;
  };
  return {
    totalActiveUsers: int(ROOM_CONFIG_FIELDS.totalActiveUsers, ROOM_DEFAULTS.totalActiveUsers),
    newUsersPerMinute: int(ROOM_CONFIG_FIELDS.newUsersPerMinute, ROOM_DEFAULTS.newUsersPerMinute),
    sessionDurationSeconds: int(ROOM_CONFIG_FIELDS.sessionDurationSeconds, ROOM_DEFAULTS.sessionDurationSeconds),
    queueingMethod: (hash[ROOM_CONFIG_FIELDS.queueingMethod] as QueueingMethod | undefined) ?? ROOM_DEFAULTS.queueingMethod,
    queueAll: hash[ROOM_CONFIG_FIELDS.queueAll] === '1',
    suspended: hash[ROOM_CONFIG_FIELDS.suspended] === '1',
    maxWaitSeconds: int(ROOM_CONFIG_FIELDS.maxWaitSeconds, ROOM_DEFAULTS.maxWaitSeconds),
    originMaxP95Ms: int(ROOM_CONFIG_FIELDS.originMaxP95Ms, ROOM_DEFAULTS.originMaxP95Ms),
    originMaxErrorRate: fraction(ROOM_CONFIG_FIELDS.originMaxErrorRate, ROOM_DEFAULTS.originMaxErrorRate),
    originMinRequests: int(ROOM_CONFIG_FIELDS.originMinRequests, ROOM_DEFAULTS.originMinRequests),
    unhealthyAdmissionFactor: fraction(ROOM_CONFIG_FIELDS.unhealthyAdmissionFactor, ROOM_DEFAULTS.unhealthyAdmissionFactor),
  };
}

export class RoomConfigStore {
  private originFactor: ScriptCall<number> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Writes a room's settings and bumps the rooms version (two keys in different slots: two commands). */
  async write(roomId: string, settings: RoomSettings): Promise<void> {
    await this.redis.hset(this.keys.room(roomId).config, encodeRoomSettings(settings));
    await this.redis.incr(this.keys.roomsVersion);
  }

  /** Writes a room's settings without bumping the version (a reader repairing the hot copy from PostgreSQL). */
  async writeSettings(roomId: string, settings: RoomSettings): Promise<void> {
    await this.redis.hset(this.keys.room(roomId).config, encodeRoomSettings(settings));
  }

  /** Removes a room's hot copy (the room was deleted; AdmissionStore.forgetRoom deletes its other keys first). */
  async remove(roomId: string): Promise<void> {
    await this.redis.del(this.keys.room(roomId).config);
    await this.redis.incr(this.keys.roomsVersion);
  }

  /**
   * Sets the admission-rate factor in effect (1 while the origin is healthy; see ORIGIN_FACTOR_FIELD), unless the room
   * has no hot copy (deleted meanwhile). True when written.
   */
  async writeOriginFactor(roomId: string, factor: number): Promise<boolean> {
    this.originFactor ??= defineScript<number>(this.redis, 'tidegateOriginFactor', 'origin-factor-1.lua');
    return (await this.originFactor([this.keys.room(roomId).config], [factor])) === 1;
  }

  async read(roomId: string): Promise<RoomSettings | null> {
    return decodeRoomSettings(await this.redis.hgetall(this.keys.room(roomId).config));
  }

  async version(): Promise<number> {
    return Number((await this.redis.get(this.keys.roomsVersion)) ?? 0);
  }

  /**
   * Sets the rooms version to 1 if it is missing (0: no change written yet, or Redis lost its data), so that losing
   * it again reads as a change. A bump written meanwhile wins (NX).
   */
  async markVersion(): Promise<void> {
    await this.redis.set(this.keys.roomsVersion, 1, 'NX');
  }
}
