/**
 * The hot copy of a room's settings in Redis (PostgreSQL stays the source of truth). Admission scripts read this
 * hash on every call, so a change applies to the next arrival on every gateway at once; `roomsVersion` tells
 * gateways to reload the rest (origin, paths) within a second.
 */
import { ROOM_DEFAULTS, type QueueingMethod, type RoomSettings } from '@tidegate/contracts';
import type { RedisClient } from './connection';
import type { RedisKeys } from './keys';

/** Field names of the config hash, as the Lua scripts read them. */
export const ROOM_CONFIG_FIELDS = {
  totalActiveUsers: 'total_active_users',
  newUsersPerMinute: 'new_users_per_minute',
  sessionDurationSeconds: 'session_duration_seconds',
  queueingMethod: 'queueing_method',
  queueAll: 'queue_all',
  suspended: 'suspended',
  maxWaitSeconds: 'max_wait_seconds',
} as const satisfies Record<keyof RoomSettings, string>;

export function encodeRoomSettings(settings: RoomSettings): Record<string, string> {
  return {
    [ROOM_CONFIG_FIELDS.totalActiveUsers]: String(settings.totalActiveUsers),
    [ROOM_CONFIG_FIELDS.newUsersPerMinute]: String(settings.newUsersPerMinute),
    [ROOM_CONFIG_FIELDS.sessionDurationSeconds]: String(settings.sessionDurationSeconds),
    [ROOM_CONFIG_FIELDS.queueingMethod]: settings.queueingMethod,
    [ROOM_CONFIG_FIELDS.queueAll]: settings.queueAll ? '1' : '0',
    [ROOM_CONFIG_FIELDS.suspended]: settings.suspended ? '1' : '0',
    [ROOM_CONFIG_FIELDS.maxWaitSeconds]: String(settings.maxWaitSeconds),
  };
}

export function decodeRoomSettings(hash: Record<string, string>): RoomSettings | null {
  if (Object.keys(hash).length === 0) return null;
  const int = (field: string, fallback: number) => {
    const n = Number(hash[field]);
    return Number.isInteger(n) ? n : fallback;
  };
  return {
    totalActiveUsers: int(ROOM_CONFIG_FIELDS.totalActiveUsers, ROOM_DEFAULTS.totalActiveUsers),
    newUsersPerMinute: int(ROOM_CONFIG_FIELDS.newUsersPerMinute, ROOM_DEFAULTS.newUsersPerMinute),
    sessionDurationSeconds: int(ROOM_CONFIG_FIELDS.sessionDurationSeconds, ROOM_DEFAULTS.sessionDurationSeconds),
    queueingMethod: (hash[ROOM_CONFIG_FIELDS.queueingMethod] as QueueingMethod | undefined) ?? ROOM_DEFAULTS.queueingMethod,
    queueAll: hash[ROOM_CONFIG_FIELDS.queueAll] === '1',
    suspended: hash[ROOM_CONFIG_FIELDS.suspended] === '1',
    maxWaitSeconds: int(ROOM_CONFIG_FIELDS.maxWaitSeconds, ROOM_DEFAULTS.maxWaitSeconds),
  };
}

export class RoomConfigStore {
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

  async read(roomId: string): Promise<RoomSettings | null> {
    return decodeRoomSettings(await this.redis.hgetall(this.keys.room(roomId).config));
  }

  async version(): Promise<number> {
    return Number((await this.redis.get(this.keys.roomsVersion)) ?? 0);
  }
}
