/**
 * What the gateways measure of each room's origin, summed across gateways in Redis: each gateway adds its counts per
 * epoch second (origin-record-1.lua), and a releaser reads the sum over the sliding window (origin-window-1.lua),
 * judges it (libs/domain origin-health) and keeps the judgement for the next tick (hysteresis) in one small key.
 */
import type { RedisClient, RedisKeys, ScriptCall } from '@tidegate/redis';
import { defineScript } from '@tidegate/redis';
import {
  emptyHistogram,
  emptyOriginWindow,
  LATENCY_BUCKET_COUNT,
  ORIGIN_ERROR_KINDS,
  type OriginErrorKind,
  type OriginHealth,
  type OriginWindow,
} from '@tidegate/domain';

/** One gateway's counts for one second of one room's origin. */
export interface OriginSecond {
  requests: number;
  /** Latency histogram of the answered requests (LATENCY_BUCKETS_MS). */
  latency: number[];
  errors: Record<OriginErrorKind, number>;
}

export const emptyOriginSecond = (): OriginSecond => ({
  requests: 0,
  latency: emptyHistogram(),
  errors: { status_5xx: 0, refused: 0, reset: 0, timeout: 0, other: 0 },
});

/** How long Redis keeps a room's per-second counts after the last write (longer than any window). */
const KEEP_MS = 120_000;
/** How long a health judgement is kept without being renewed (no gateway judging: start afresh). */
const HEALTH_KEEP_MS = 60_000;

/** The hash fields of a second's counts: r, b<i>, e:<kind>. */
export function encodeOriginSecond(second: OriginSecond): Array<string | number> {
  const out: Array<string | number> = ['r', second.requests];
  second.latency.forEach((n, i) => {
    if (n > 0) out.push(`b${i}`, n);
  });
  for (const kind of ORIGIN_ERROR_KINDS) if (second.errors[kind] > 0) out.push(`e:${kind}`, second.errors[kind]);
  return out;
}

/** The window from origin-window-1's reply (field, total, …); unknown fields are ignored. */
export function decodeOriginWindow(reply: unknown): OriginWindow {
  const window = emptyOriginWindow();
  const latency = emptyHistogram();
  if (!Array.isArray(reply)) return { ...window, latency };
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field = String(reply[i]);
    const n = Number(reply[i + 1]);
    if (!Number.isFinite(n) || n < 0) continue;
    if (field === 'r') window.requests = n;
    else if (/^b\d+$/.test(field)) {
      const bucket = Number(field.slice(1));
      if (bucket < LATENCY_BUCKET_COUNT) latency[bucket] = n;
    } else if (field.startsWith('e:')) {
      const kind = field.slice(2) as OriginErrorKind;
      if ((ORIGIN_ERROR_KINDS as readonly string[]).includes(kind)) window.errors[kind] = n;
    }
  }
  return { ...window, latency };
}

/** The stored judgement, or null when it is missing or not one. */
export function parseStoredOriginHealth(raw: string | null): OriginHealth | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<OriginHealth>;
    if (typeof v.healthy !== 'boolean' || typeof v.since !== 'number') return null;
    if (v.calmSince !== null && typeof v.calmSince !== 'number') return null;
    return v as OriginHealth;
  } catch {
    return null;
  }
}

export class OriginStatsStore {
  private readonly record: ScriptCall<number>;
  private readonly window: ScriptCall<unknown>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.record = defineScript(redis, 'tidegateOriginRecord', 'origin-record-1.lua');
    this.window = defineScript(redis, 'tidegateOriginWindow', 'origin-window-1.lua');
  }

  /** Adds this gateway's counts for `epochSecond` to the room's (every gateway's counts add up). */
  async add(roomId: string, epochSecond: number, counts: OriginSecond): Promise<void> {
    await this.record([this.keys.room(roomId).origin], [epochSecond, KEEP_MS, ...encodeOriginSecond(counts)]);
  }

  /** Every gateway's counts for the seconds `first..last` (inclusive), summed; drops older seconds. */
  async sum(roomId: string, first: number, last: number): Promise<OriginWindow> {
    return decodeOriginWindow(await this.window([this.keys.room(roomId).origin], [first, last]));
  }

  async readHealth(roomId: string): Promise<OriginHealth | null> {
    return parseStoredOriginHealth(await this.redis.get(this.keys.room(roomId).originHealth));
  }

  async writeHealth(roomId: string, health: OriginHealth): Promise<void> {
    await this.redis.set(this.keys.room(roomId).originHealth, JSON.stringify(health), 'PX', HEALTH_KEEP_MS);
  }
}
