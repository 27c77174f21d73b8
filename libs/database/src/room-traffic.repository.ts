import { Injectable } from '@nestjs/common';
import { PrismaService } from './prisma.service';

/** Counts to add to one hour of the week of a room (what the gateways counted since the last flush). */
export interface RoomTrafficIncrement {
  hourOfWeek: number;
  arrivals: number;
  activeSum: number;
  samples: number;
}

/** One hour of the week as stored: totals over every week observed. */
export interface RoomTrafficRow {
  hourOfWeek: number;
  arrivals: number;
  activeSum: number;
  samples: number;
  updatedAt: Date;
}

/** A room's traffic per hour of the week (table room_traffic), written behind from Redis counters by the gateways. */
@Injectable()
export class RoomTrafficRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Adds the counts to the room's hours in one statement (concurrent flushes add up). Counts for a room that no longer
   * exists are dropped. Returns the number of hours written.
   */
  async add(roomId: string, increments: readonly RoomTrafficIncrement[]): Promise<number> {
    if (increments.length === 0) return 0;
    const hours = increments.map((i) => i.hourOfWeek);
    const arrivals = increments.map((i) => BigInt(Math.round(i.arrivals)));
    const activeSums = increments.map((i) => BigInt(Math.round(i.activeSum)));
    const samples = increments.map((i) => BigInt(Math.round(i.samples)));
    return this.prisma.$executeRaw`
      INSERT INTO room_traffic (room_id, hour_of_week, arrivals, active_sum, samples, updated_at)
      SELECT ${roomId}, t.hour, t.arrivals, t.active_sum, t.samples, now()
      FROM unnest(${hours}::int[], ${arrivals}::bigint[], ${activeSums}::bigint[], ${samples}::bigint[])
        AS t(hour, arrivals, active_sum, samples)
      WHERE EXISTS (SELECT 1 FROM rooms WHERE id = ${roomId})
      ON CONFLICT (room_id, hour_of_week) DO UPDATE SET
        arrivals = room_traffic.arrivals + EXCLUDED.arrivals,
        active_sum = room_traffic.active_sum + EXCLUDED.active_sum,
        samples = room_traffic.samples + EXCLUDED.samples,
        updated_at = now()`;
  }

  /** The hours of the week observed for a room (hours never observed have no row), in hour order. */
  async list(roomId: string): Promise<RoomTrafficRow[]> {
    const rows = await this.prisma.roomTraffic.findMany({ where: { roomId }, orderBy: { hourOfWeek: 'asc' } });
    return rows.map((r) => ({
      hourOfWeek: r.hourOfWeek,
      arrivals: Number(r.arrivals),
      activeSum: Number(r.activeSum),
      samples: Number(r.samples),
      updatedAt: r.updatedAt,
    }));
  }
}
