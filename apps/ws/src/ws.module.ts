import { Module, type DynamicModule } from '@nestjs/common';
import type { WsConfig } from '@tidegate/config';
import { DatabaseModule } from '@tidegate/database';
import { HealthModule, loggingModule, MetricsModule } from '@tidegate/observability';
import { RedisModule } from '@tidegate/redis';
import { WaitingRoomGateway } from './socket/waiting-room.gateway';

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
        MetricsModule.forRoot('ws'),
        HealthModule.forRoot(),
      ],
      providers: [WaitingRoomGateway],
    };
  }
}
