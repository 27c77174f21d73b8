import { Inject, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { OriginStatsStore } from '@tidegate/admission';
import { ORIGIN_RECOVER_SECONDS, ORIGIN_WINDOW_SECONDS, type RoomOriginHealth, type RoomSettings } from '@tidegate/contracts';
import { judgeOrigin } from '@tidegate/domain';
import { MetricsRegistry } from '@tidegate/observability';
import { REDIS, RedisKeys, RoomConfigStore, type RedisClient } from '@tidegate/redis';

/**
 * Judges a room's origin once a second for the releaser: sums every gateway's measurements over the last
 * ORIGIN_WINDOW_SECONDS, judges them by the room's thresholds from the previous judgement (kept in Redis, so the
 * hysteresis holds across ticks and gateways), and sets the admission-rate factor the admission scripts apply (1, or
 * the room's unhealthy_admission_factor while unhealthy).
 */
@Injectable()
export class OriginHealthJudge {
  private readonly stats: OriginStatsStore;
  private readonly config: RoomConfigStore;
  private readonly healthy: Gauge<'room'>;
  private readonly factor: Gauge<'room'>;

  constructor(@Inject(REDIS) redis: RedisClient, keys: RedisKeys, metrics: MetricsRegistry) {
    this.stats = new OriginStatsStore(redis, keys);
    this.config = new RoomConfigStore(redis, keys);
    this.healthy = new Gauge({
      name: 'tidegate_origin_healthy',
      help: "1 while the room's origin is healthy by its thresholds, 0 while unhealthy",
      labelNames: ['room'],
      registers: [metrics],
    });
    this.factor = new Gauge({
      name: 'tidegate_origin_admission_factor',
      help: 'What the admission rate is multiplied by right now (below 1 while the origin is unhealthy)',
      labelNames: ['room'],
      registers: [metrics],
    });
  }

  /** The origin's health at `nowMs` (Redis time), with the admission factor now in effect. */
  async judge(roomId: string, settings: RoomSettings, nowMs: number): Promise<RoomOriginHealth> {
    const nowSecond = Math.floor(nowMs / 1000);
    const [window, previous] = await Promise.all([
      this.stats.sum(roomId, nowSecond - ORIGIN_WINDOW_SECONDS, nowSecond - 1),
      this.stats.readHealth(roomId),
    ]);
    const thresholds = {
      maxP95Ms: settings.originMaxP95Ms,
      maxErrorRate: settings.originMaxErrorRate,
      minRequests: settings.originMinRequests,
    };
    const health = judgeOrigin(previous, window, thresholds, nowMs, ORIGIN_RECOVER_SECONDS * 1000);
    const admissionFactor = health.healthy ? 1 : settings.unhealthyAdmissionFactor;
    await Promise.all([this.stats.writeHealth(roomId, health), this.config.writeOriginFactor(roomId, admissionFactor)]);
    this.healthy.set({ room: roomId }, health.healthy ? 1 : 0);
    this.factor.set({ room: roomId }, admissionFactor);
    return {
      healthy: health.healthy,
      since: health.since,
      reason: health.reason,
      requests: health.requests,
      p50Ms: health.p50Ms,
      p95Ms: health.p95Ms,
      p99Ms: health.p99Ms,
      errorRate: health.errorRate,
      admissionFactor,
    };
  }
}
