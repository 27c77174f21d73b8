/**
 * The room snapshot: what the gateway's releaser publishes about each room (waiting, active, rate, pressure, mode),
 * read by the ws app (positions, ETA, pauses), the scheduler's status API and its wave planner. One writer, one
 * validating reader and one freshness rule for all of them.
 */
import type { RoomCapacitySettings, RoomOriginHealth, RoomSnapshot } from '@tidegate/contracts';
import type { RedisClient, RedisKeys } from '@tidegate/redis';

/** A snapshot older than this describes a room no gateway is releasing right now: readers must not act on it. */
export const ROOM_SNAPSHOT_FRESH_MS = 5_000;
/** How long Redis keeps a snapshot (a stale one still tells when a gateway last reported). */
const ROOM_SNAPSHOT_KEEP_MS = 60_000;

export interface StoredRoomSnapshot {
  snapshot: RoomSnapshot;
  /** Taken within ROOM_SNAPSHOT_FRESH_MS. */
  fresh: boolean;
}

const NUMBERS = [
  'at',
  'tickets',
  'serving',
  'gone',
  'waiting',
  'active',
  'admittedPerMinute',
  'oldestTicketAgeSeconds',
] as const satisfies ReadonlyArray<keyof RoomSnapshot>;
const NULLABLE_NUMBERS = ['estimatedWaitSeconds', 'pressure'] as const satisfies ReadonlyArray<keyof RoomSnapshot>;
const BOOLEANS = ['queueAll', 'suspended'] as const satisfies ReadonlyArray<keyof RoomSnapshot>;

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNullableNumber = (v: unknown): v is number | null => v === null || isFiniteNumber(v);

/**
 * The origin's health in a snapshot, or undefined when it is absent (written by a gateway older than origin health)
 * or malformed: readers take undefined as healthy.
 */
export function parseRoomOriginHealth(value: unknown): RoomOriginHealth | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.healthy !== 'boolean' || !isFiniteNumber(v.since) || !isFiniteNumber(v.requests)) return undefined;
  if (!isFiniteNumber(v.errorRate) || !isFiniteNumber(v.admissionFactor)) return undefined;
  if (!isNullableNumber(v.p50Ms) || !isNullableNumber(v.p95Ms) || !isNullableNumber(v.p99Ms)) return undefined;
  const reason = v.reason === 'latency' || v.reason === 'errors' ? v.reason : null;
  return {
    healthy: v.healthy,
    since: v.since,
    reason,
    requests: v.requests,
    p50Ms: v.p50Ms,
    p95Ms: v.p95Ms,
    p99Ms: v.p99Ms,
    errorRate: v.errorRate,
    admissionFactor: v.admissionFactor,
  };
}

/** The snapshot in `raw` (JSON), or null when it is not one (malformed, or written by an incompatible version). */
export function parseRoomSnapshot(raw: string): RoomSnapshot | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.roomId !== 'string') return null;
  if (!NUMBERS.every((f) => typeof v[f] === 'number' && Number.isFinite(v[f]))) return null;
  if (!NULLABLE_NUMBERS.every((f) => v[f] === null || (typeof v[f] === 'number' && Number.isFinite(v[f])))) return null;
  if (!BOOLEANS.every((f) => typeof v[f] === 'boolean')) return null;
  const origin = parseRoomOriginHealth(v.origin);
  const capacity = parseCapacity(v.capacity);
  return {
    ...(origin ? { origin } : {}),
    ...(capacity ? { capacity } : {}),
    roomId: v.roomId,
    at: v.at as number,
    tickets: v.tickets as number,
    serving: v.serving as number,
    gone: v.gone as number,
    waiting: v.waiting as number,
    active: v.active as number,
    admittedPerMinute: v.admittedPerMinute as number,
    estimatedWaitSeconds: v.estimatedWaitSeconds as number | null,
    oldestTicketAgeSeconds: v.oldestTicketAgeSeconds as number,
    pressure: v.pressure as number | null,
    queueAll: v.queueAll as boolean,
    suspended: v.suspended as boolean,
  };
}

/** The snapshot's capacity settings, or undefined when absent or not of that shape (positive whole numbers). */
function parseCapacity(value: unknown): RoomCapacitySettings | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const fields = ['totalActiveUsers', 'newUsersPerMinute', 'sessionDurationSeconds'] as const;
  if (!fields.every((f) => typeof v[f] === 'number' && Number.isFinite(v[f]) && v[f] >= 0)) return undefined;
  return {
    totalActiveUsers: v.totalActiveUsers as number,
    newUsersPerMinute: v.newUsersPerMinute as number,
    sessionDurationSeconds: v.sessionDurationSeconds as number,
  };
}

export class RoomSnapshotStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: () => number = Date.now,
  ) {}

  async write(snapshot: RoomSnapshot): Promise<void> {
    await this.redis.set(this.keys.room(snapshot.roomId).snapshot, JSON.stringify(snapshot), 'PX', ROOM_SNAPSHOT_KEEP_MS);
  }

  /** The room's latest snapshot and whether it is fresh; null when there is none (or it is not a valid snapshot). */
  async read(roomId: string): Promise<StoredRoomSnapshot | null> {
    const raw = await this.redis.get(this.keys.room(roomId).snapshot);
    return raw === null ? null : this.judge(raw);
  }

  /** Parses and judges a snapshot read by other means (a pipelined GET). */
  judge(raw: string): StoredRoomSnapshot | null {
    const snapshot = parseRoomSnapshot(raw);
    return snapshot ? { snapshot, fresh: this.clock() - snapshot.at <= ROOM_SNAPSHOT_FRESH_MS } : null;
  }
}
