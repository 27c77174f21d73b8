import { Module, type DynamicModule } from '@nestjs/common';
import { AdmissionStore, AdmissionTokens, TicketSigner, WaveTicketSigner } from '@tidegate/admission';
import type { GatewayConfig } from '@tidegate/config';
import { READINESS_CHECKS, type ReadinessCheck } from '@tidegate/observability';
import { atEndOfTurn, batchRedisWritesPerTurn, FunnelStore, REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import { AssetsController } from './assets.controller';
import { GATE_OPTIONS, GateHook } from './gate.hook';
import { GateService } from './gate.service';
import { OriginHealthJudge } from './origin-health-judge';
import { OriginMonitor } from './origin-monitor';
import { PublicController } from './public.controller';
import { RELEASE_INTERVAL_MS, Releaser } from './releaser';
import { ROOMS_REFRESH_MS, RoomRegistry } from './room-registry';
import { TrafficRecorder } from './traffic-recorder';
import { WaveAttribution } from './wave-attribution';
import { WebSocketProxy } from './websocket-proxy';

/** Admission: the gate, the releaser, tickets and tokens, and the public waiting-room API. */
@Module({})
export class AdmissionModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    const graceMs = config.TICKET_GRACE_SECONDS * 1000;
    return {
      module: AdmissionModule,
      controllers: [PublicController, AssetsController],
      providers: [
        {
          provide: AdmissionStore,
          inject: [REDIS, RedisKeys],
          useFactory: (redis: RedisClient, keys: RedisKeys) => {
            // The gate's scripts (and everything else on this connection) go out once per event-loop turn.
            batchRedisWritesPerTurn(redis);
            // A turn's arrivals at a room: one script call, sent in the same end-of-turn write.
            return new AdmissionStore(redis, keys, { graceMs, scheduleArrivals: atEndOfTurn });
          },
        },
        { provide: TicketSigner, useFactory: () => new TicketSigner(config.TICKET_SECRET) },
        { provide: WaveTicketSigner, useFactory: () => new WaveTicketSigner(config.WAVE_TICKET_SECRET) },
        {
          provide: FunnelStore,
          inject: [REDIS, RedisKeys],
          useFactory: (redis: RedisClient, keys: RedisKeys) => new FunnelStore(redis, keys),
        },
        WaveAttribution,
        { provide: AdmissionTokens, useFactory: () => AdmissionTokens.fromPem(config.ADMISSION_SIGNING_KEY) },
        {
          provide: GATE_OPTIONS,
          useValue: {
            cookieSecure: config.COOKIE_SECURE ?? config.NODE_ENV === 'production',
            graceSeconds: config.TICKET_GRACE_SECONDS,
            socketUrl: config.WS_PUBLIC_URL ?? null,
          },
        },
        { provide: RELEASE_INTERVAL_MS, useValue: config.RELEASE_INTERVAL_MS },
        { provide: ROOMS_REFRESH_MS, useValue: config.ROOMS_REFRESH_MS },
        RoomRegistry,
        {
          provide: READINESS_CHECKS,
          inject: [RoomRegistry],
          useFactory: (rooms: RoomRegistry): ReadinessCheck[] => [
            { name: 'rooms', problem: () => (rooms.loaded ? null : 'the rooms have not been loaded from PostgreSQL yet') },
          ],
        },
        Releaser,
        GateService,
        GateHook,
        WebSocketProxy,
        OriginMonitor,
        OriginHealthJudge,
        TrafficRecorder,
      ],
    };
  }
}
