/**
 * A room's traffic per hour of the week, counted in Redis by the gateways (arrivals as they happen, active sessions
 * sampled once a second for the whole room) and taken out in one atomic step to be added to PostgreSQL
 * (room_traffic) by whichever gateway flushes. Bounded: at most 3 counters per hour of the week per room.
 */
import { defineScript, type RedisClient, type RedisKeys, type ScriptCall } from '@tidegate/redis';
import { HOURS_PER_WEEK } from '@tidegate/domain';

/** Counts for one hour of the week, to be added to what PostgreSQL has. */
export interface TrafficCounts {
  hourOfWeek: number;
  arrivals: number;
  activeSum: number;
  samples: number;
}

/** The counts in traffic-drain-1's reply (field, count, …), one entry per hour of the week that has any. */
export function decodeTrafficDrain(reply: unknown): TrafficCounts[] {
  const byHour = new Map<number, TrafficCounts>();
  if (!Array.isArray(reply)) return [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const match = /^(\d+):([asn])$/.exec(String(reply[i]));
    const n = Number(reply[i + 1]);
    if (!match || !Number.isFinite(n)) continue;
    const hourOfWeek = Number(match[1]);
    if (hourOfWeek >= HOURS_PER_WEEK) continue;
    const counts = byHour.get(hourOfWeek) ?? { hourOfWeek, arrivals: 0, activeSum: 0, samples: 0 };
    if (match[2] === 'a') counts.arrivals += n;
    else if (match[2] === 's') counts.activeSum += n;
    else counts.samples += n;
    byHour.set(hourOfWeek, counts);
  }
  return [...byHour.values()].sort((a, b) => a.hourOfWeek - b.hourOfWeek);
}

export class RoomTrafficStore {
  private readonly sample: ScriptCall<number>;
  private readonly drain: ScriptCall<unknown>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.sample = defineScript(redis, 'tidegateTrafficSample', 'traffic-sample-1.lua');
    this.drain = defineScript(redis, 'tidegateTrafficDrain', 'traffic-drain-1.lua');
  }

  /**
   * Adds `arrivals` to the hour, and samples `active` for `epochSecond` unless a gateway sampled that second already
   * (pass active -1 for arrivals only). True when the sample counted.
   */
  async count(roomId: string, hourOfWeek: number, arrivals: number, epochSecond: number, active: number): Promise<boolean> {
    return (await this.sample([this.keys.room(roomId).traffic], [hourOfWeek, arrivals, epochSecond, active])) === 1;
  }

  /** Takes every count out of Redis (atomically: no other flush gets them too). */
  async take(roomId: string): Promise<TrafficCounts[]> {
    return decodeTrafficDrain(await this.drain([this.keys.room(roomId).traffic], []));
  }

  /** The counts not yet flushed to PostgreSQL, left in place (for a reader that wants the latest). */
  async pending(roomId: string): Promise<TrafficCounts[]> {
    const hash = await this.redis.hgetall(this.keys.room(roomId).traffic);
    return decodeTrafficDrain(Object.entries(hash).flat());
  }

  /** Puts counts taken out back (their PostgreSQL write failed), to be flushed next time. */
  async restore(roomId: string, counts: readonly TrafficCounts[]): Promise<void> {
    const key = this.keys.room(roomId).traffic;
    const pipeline = this.redis.pipeline();
    for (const c of counts) {
      if (c.arrivals > 0) pipeline.hincrby(key, `${c.hourOfWeek}:a`, c.arrivals);
      if (c.activeSum > 0) pipeline.hincrby(key, `${c.hourOfWeek}:s`, c.activeSum);
      if (c.samples > 0) pipeline.hincrby(key, `${c.hourOfWeek}:n`, c.samples);
    }
    await pipeline.exec();
  }
}
