import { Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { RoomTrafficStore, type TrafficCounts } from '@tidegate/admission';
import { RoomRepository, RoomTrafficRepository } from '@tidegate/database';
import { bestIdleWindow, HOURS_PER_WEEK, weekTime, type IdleWindow, type WeekDay } from '@tidegate/domain';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';

/** One hour of the week of a room's traffic, averaged over every time it was observed. */
export interface TrafficPoint {
  hourOfWeek: number;
  day: WeekDay;
  hour: number;
  /** Arrivals per hour: arrivals counted in this hour of the week over the hours observed (samples / 3600). */
  meanArrivalsPerHour: number;
  /** Mean active sessions over the samples. */
  meanActive: number;
  /** Seconds observed (one sample of active sessions per second); 0: never observed. */
  samples: number;
}

export interface RoomTraffic {
  roomId: string;
  capacity: number;
  points: TrafficPoint[];
}

const SECONDS_PER_HOUR = 3600;

/**
 * A room's traffic per hour of the week: what PostgreSQL has (room_traffic, flushed by the gateways every minute)
 * plus what the gateways counted since (still in Redis; left out if Redis does not answer). The forecast uses
 * `curve` with bestIdleWindow to suggest a send window.
 */
@Injectable()
export class RoomTrafficService {
  private readonly logger = new Logger('RoomTraffic');
  private readonly pending: RoomTrafficStore;

  constructor(
    private readonly rooms: RoomRepository,
    private readonly traffic: RoomTrafficRepository,
    @Inject(REDIS) redis: RedisClient,
    keys: RedisKeys,
  ) {
    this.pending = new RoomTrafficStore(redis, keys);
  }

  /** The 168-point curve of a room and its capacity; 404 when there is no such room. */
  async curve(roomId: string): Promise<RoomTraffic> {
    const room = await this.rooms.findById(roomId);
    if (!room) throw new NotFoundException(`no room with id ${roomId}`);
    const totals: TrafficCounts[] = Array.from({ length: HOURS_PER_WEEK }, (_, hourOfWeek) => ({
      hourOfWeek,
      arrivals: 0,
      activeSum: 0,
      samples: 0,
    }));
    const add = (c: TrafficCounts) => {
      const t = totals[c.hourOfWeek];
      if (!t) return;
      t.arrivals += c.arrivals;
      t.activeSum += c.activeSum;
      t.samples += c.samples;
    };
    for (const row of await this.traffic.list(roomId)) add(row);
    try {
      for (const c of await this.pending.pending(roomId)) add(c);
    } catch (err) {
      this.logger.warn(`traffic not yet flushed left out (Redis: ${err instanceof Error ? err.message : String(err)})`);
    }
    return { roomId, capacity: room.totalActiveUsers, points: totals.map(toPoint) };
  }

  /** The curve and the `windowHours`-long send window with the most spare capacity (null: too little observed). */
  async withSuggestion(roomId: string, windowHours: number): Promise<RoomTraffic & { suggestion: IdleWindow | null }> {
    const traffic = await this.curve(roomId);
    return { ...traffic, suggestion: bestIdleWindow(traffic.points, traffic.capacity, windowHours) };
  }
}

function toPoint(c: TrafficCounts): TrafficPoint {
  const { day, hour } = weekTime(c.hourOfWeek);
  return {
    hourOfWeek: c.hourOfWeek,
    day,
    hour,
    meanArrivalsPerHour: c.samples > 0 ? (c.arrivals * SECONDS_PER_HOUR) / c.samples : 0,
    meanActive: c.samples > 0 ? c.activeSum / c.samples : 0,
    samples: c.samples,
  };
}
