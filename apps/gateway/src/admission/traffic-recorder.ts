import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { RoomTrafficStore } from '@tidegate/admission';
import { RoomTrafficRepository } from '@tidegate/database';
import { hourOfWeek } from '@tidegate/domain';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import { RoomRegistry } from './room-registry';

/** How often the counts in Redis are added to PostgreSQL (room_traffic). */
export const TRAFFIC_FLUSH_MS = 60_000;

/**
 * A room's traffic per hour of the week: arrivals (people who came without a session or a ticket) are counted here
 * and added to Redis with the releaser's once-a-second sample of active sessions (one sample per second per room,
 * whichever gateway comes first); every TRAFFIC_FLUSH_MS the counts are taken out of Redis and added to PostgreSQL.
 * Memory: one number per room here, at most 3 counters per hour of the week per room in Redis.
 */
@Injectable()
export class TrafficRecorder implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TrafficRecorder.name);
  private readonly store: RoomTrafficStore;
  private readonly arrivals = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;

  constructor(
    @Inject(REDIS) redis: RedisClient,
    keys: RedisKeys,
    private readonly repository: RoomTrafficRepository,
    private readonly registry: RoomRegistry,
  ) {
    this.store = new RoomTrafficStore(redis, keys);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), TRAFFIC_FLUSH_MS);
    this.timer.unref();
  }

  /** On shutdown the counts are flushed once more (best effort), so a deploy loses nothing counted. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Someone arrived at the room (a new visitor: no session, no ticket). */
  arrived(roomId: string): void {
    this.arrivals.set(roomId, (this.arrivals.get(roomId) ?? 0) + 1);
  }

  /** The releaser's once-a-second sample: adds the arrivals counted since the last one and the active sessions. */
  async sample(roomId: string, atMs: number, active: number): Promise<void> {
    const arrivals = this.arrivals.get(roomId) ?? 0;
    this.arrivals.delete(roomId);
    try {
      await this.store.count(roomId, hourOfWeek(atMs), arrivals, Math.floor(atMs / 1000), active);
    } catch (err) {
      this.arrivals.set(roomId, (this.arrivals.get(roomId) ?? 0) + arrivals); // counted next time
      throw err;
    }
  }

  /** Takes every room's counts out of Redis and adds them to PostgreSQL; put back when PostgreSQL fails. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (const room of this.registry.all()) {
        let counts;
        try {
          counts = await this.store.take(room.id);
        } catch (err) {
          this.logger.warn(`traffic of room ${room.id} not read from Redis: ${message(err)}`);
          continue;
        }
        if (counts.length === 0) continue;
        try {
          await this.repository.add(room.id, counts);
        } catch (err) {
          this.logger.warn(`traffic of room ${room.id} not written to PostgreSQL: ${message(err)}; kept for the next flush`);
          await this.store.restore(room.id, counts).catch(() => undefined);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
