import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Gauge } from 'prom-client';
import type { RoomSnapshot } from '@tidegate/contracts';
import { AdmissionStore, RoomSnapshotStore } from '@tidegate/admission';
import { MetricsRegistry } from '@tidegate/observability';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import { OriginHealthJudge } from './origin-health-judge';
import { RoomRegistry, type GatewayRoom } from './room-registry';
import { TrafficRecorder } from './traffic-recorder';

export const RELEASE_INTERVAL_MS = Symbol('RELEASE_INTERVAL_MS');
const SNAPSHOT_EVERY_MS = 1000;

/**
 * Advances every room's line a few times a second: sessions that ended free capacity, and the releaser reserves
 * sessions for the next live tickets in order. Every gateway instance runs it; the release script is atomic, so
 * instances never admit past capacity together, and the line keeps moving while any one of them is alive.
 * Once a second, and at once when a room is suspended, paused (queue_all) or resumed, it stores each room's snapshot
 * in Redis (the ws app builds positions and tells waiting sockets about pauses from it, the scheduler paces waves by
 * its pressure) and exports the same numbers to Prometheus. With each published snapshot it judges the room's origin
 * (OriginHealthJudge: `snapshot.origin`, and the admission-rate factor while unhealthy) and samples the room's
 * traffic for its hour of the week (TrafficRecorder).
 */
@Injectable()
export class Releaser implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(Releaser.name);
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastSnapshot = 0;
  private readonly latest = new Map<string, RoomSnapshot>();
  private readonly snapshots: RoomSnapshotStore;
  /** Rooms whose last release failed: logged once per outage, not every tick. */
  private readonly failing = new Set<string>();
  private readonly failingOrigin = new Set<string>();
  private readonly gauges: Record<
    'waiting' | 'active' | 'admittedPerMinute' | 'estimatedWait' | 'oldestTicketAge' | 'pressure',
    Gauge<'room'>
  >;

  constructor(
    private readonly store: AdmissionStore,
    private readonly registry: RoomRegistry,
    @Inject(REDIS) redis: RedisClient,
    keys: RedisKeys,
    metrics: MetricsRegistry,
    @Inject(RELEASE_INTERVAL_MS) private readonly intervalMs: number,
    private readonly originHealth: OriginHealthJudge,
    private readonly traffic: TrafficRecorder,
  ) {
    this.snapshots = new RoomSnapshotStore(redis, keys);
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['room'], registers: [metrics] });
    this.gauges = {
      waiting: gauge('tidegate_room_waiting', 'People waiting in the room'),
      active: gauge('tidegate_room_active_sessions', 'Admitted sessions (and reservations) in the room'),
      admittedPerMinute: gauge('tidegate_room_admitted_per_minute', 'Admissions in the last minute'),
      estimatedWait: gauge('tidegate_room_estimated_wait_seconds', 'Estimated wait for someone arriving now (-1: unknown)'),
      oldestTicketAge: gauge('tidegate_room_oldest_ticket_age_seconds', 'Age of the oldest waiting ticket'),
      pressure: gauge('tidegate_room_pressure', 'Estimated wait over the wait budget (-1: stalled)'),
    };
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The latest snapshot of a room taken by this instance (at most a second old), if any. */
  snapshot(roomId: string): RoomSnapshot | undefined {
    return this.latest.get(roomId);
  }

  /** One pass over every room; skipped while the previous pass still runs (Redis slow or down). */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const publish = Date.now() - this.lastSnapshot >= SNAPSHOT_EVERY_MS;
      if (publish) this.lastSnapshot = Date.now();
      await Promise.all(this.registry.all().map((room) => this.releaseRoom(room, publish)));
    } finally {
      this.running = false;
    }
  }

  private async releaseRoom(room: GatewayRoom, publish: boolean): Promise<void> {
    const roomId = room.id;
    try {
      const { maxWaitSeconds, totalActiveUsers, newUsersPerMinute, sessionDurationSeconds } = room.settings;
      const released = await this.store.release(roomId, maxWaitSeconds, { totalActiveUsers, newUsersPerMinute, sessionDurationSeconds });
      if (this.failing.delete(roomId)) this.logger.log(`release of room ${roomId} works again`);
      if (!released.snapshot) return;
      const before = this.latest.get(roomId);
      // The origin's health is judged once a second; between judgements the last one stands.
      const snapshot: RoomSnapshot = { ...released.snapshot, origin: before?.origin };
      if (publish) snapshot.origin = await this.judgeOrigin(room, snapshot);
      if (snapshot.origin === undefined) delete snapshot.origin;
      this.latest.set(roomId, snapshot);
      // A change of mode is published at once: waiting sockets are told within a tick of the ws app.
      const modeChanged = before?.queueAll !== snapshot.queueAll || before.suspended !== snapshot.suspended;
      if (!publish && !modeChanged) return;
      await this.snapshots.write(snapshot);
      // A failed sample keeps its arrivals for the next second; it does not fail the release.
      if (publish) await this.traffic.sample(roomId, snapshot.at, snapshot.active).catch(() => undefined);
      this.gauges.waiting.set({ room: roomId }, snapshot.waiting);
      this.gauges.active.set({ room: roomId }, snapshot.active);
      this.gauges.admittedPerMinute.set({ room: roomId }, snapshot.admittedPerMinute);
      this.gauges.estimatedWait.set({ room: roomId }, snapshot.estimatedWaitSeconds ?? -1);
      this.gauges.oldestTicketAge.set({ room: roomId }, snapshot.oldestTicketAgeSeconds);
      this.gauges.pressure.set({ room: roomId }, snapshot.pressure ?? -1);
    } catch (err) {
      if (this.failing.has(roomId)) return;
      this.failing.add(roomId);
      this.logger.warn(`release of room ${roomId} failed: ${err instanceof Error ? err.message : String(err)}; retrying every tick`);
    }
  }

  /** The origin's health now; the last judgement when this one fails (logged once per outage). */
  private async judgeOrigin(room: GatewayRoom, snapshot: RoomSnapshot): Promise<RoomSnapshot['origin']> {
    try {
      const origin = await this.originHealth.judge(room.id, room.settings, snapshot.at);
      this.failingOrigin.delete(room.id);
      return origin;
    } catch (err) {
      if (!this.failingOrigin.has(room.id)) {
        this.failingOrigin.add(room.id);
        this.logger.warn(`origin health of room ${room.id} not judged: ${err instanceof Error ? err.message : String(err)}`);
      }
      return snapshot.origin;
    }
  }
}
