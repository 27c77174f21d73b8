import { Module, type DynamicModule } from '@nestjs/common';
import type { GatewayConfig } from '@tidegate/config';
import { DatabaseModule } from '@tidegate/database';
import { HealthModule, loggingModule, MetricsModule } from '@tidegate/observability';
import { RedisModule } from '@tidegate/redis';
import { AdmissionModule } from './admission/admission.module';
import { ThrottleModule } from './throttle/throttle.module';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        loggingModule({ app: 'gateway', level: config.LOG_LEVEL, requests: false }),
        RedisModule.forRoot({
          url: config.REDIS_URL,
          clusterNodes: config.REDIS_CLUSTER_NODES,
          keyPrefix: config.REDIS_KEY_PREFIX,
          name: 'gateway',
        }),
        DatabaseModule.forRoot({
          connectionString: config.DATABASE_URL,
          max: config.DATABASE_POOL_SIZE,
          applicationName: 'tidegate-gateway',
        }),
        MetricsModule.forRoot('gateway', { scrapeRoute: false }),
        HealthModule.forRoot({ needsPostgres: false }),
        ThrottleModule.forRoot({
          limit: config.THROTTLE_LIMIT,
          windowSeconds: config.THROTTLE_WINDOW_SECONDS,
          blockSeconds: config.THROTTLE_BLOCK_SECONDS,
        }),
        AdmissionModule.forRoot(config),
      ],
    };
  }
}
