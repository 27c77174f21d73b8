import { Module, type DynamicModule } from '@nestjs/common';
import type { WsConfig } from '@tidegate/config';
import { DatabaseModule } from '@tidegate/database';
import { HealthModule, loggingModule, MetricsModule } from '@tidegate/observability';
import { AdmissionStore, AdmissionTokens, TicketSigner } from '@tidegate/admission';
import { REDIS, RedisKeys, RedisModule, type RedisClient } from '@tidegate/redis';
import { LineWatcher, WS_TIMING } from './socket/line-watcher';
import { WaitingRoomGateway, WS_EVENT_LIMITS, WS_MAX_SOCKETS } from './socket/waiting-room.gateway';

@Module({})
export class WsModule {
  static forRoot(config: WsConfig): DynamicModule {
    return {
      module: WsModule,
      imports: [
        loggingModule({ app: 'ws', level: config.LOG_LEVEL, requests: false }),
        RedisModule.forRoot({
          url: config.REDIS_URL,
          clusterNodes: config.REDIS_CLUSTER_NODES,
          keyPrefix: config.REDIS_KEY_PREFIX,
          name: 'ws',
        }),
        DatabaseModule.forRoot({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, applicationName: 'tidegate-ws' }),
        MetricsModule.forRoot('ws', { scrapeRoute: false }),
        HealthModule.forRoot({ needsPostgres: false }),
      ],
      providers: [
        WaitingRoomGateway,
        LineWatcher,
        { provide: WS_MAX_SOCKETS, useValue: config.WS_MAX_SOCKETS ?? null },
        {
          provide: WS_EVENT_LIMITS,
          useValue: { perSecond: config.WS_EVENTS_PER_SECOND, burst: config.WS_EVENT_BURST, floodLimit: config.WS_EVENT_FLOOD_LIMIT },
        },
        {
          provide: WS_TIMING,
          useValue: {
            tickMs: config.WS_TICK_MS,
            positionIntervalMs: config.WS_POSITION_INTERVAL_MS,
            markSeenMs: Math.max(1000, Math.floor((config.TICKET_GRACE_SECONDS * 1000) / 3)),
          },
        },
        {
          provide: AdmissionStore,
          inject: [REDIS, RedisKeys],
          useFactory: (redis: RedisClient, keys: RedisKeys) =>
            new AdmissionStore(redis, keys, { graceMs: config.TICKET_GRACE_SECONDS * 1000 }),
        },
        { provide: TicketSigner, useFactory: () => new TicketSigner(config.TICKET_SECRET) },
        { provide: AdmissionTokens, useFactory: () => AdmissionTokens.fromPem(config.ADMISSION_SIGNING_KEY) },
      ],
    };
  }
}
