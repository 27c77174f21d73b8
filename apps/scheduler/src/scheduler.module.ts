import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AdminAuthModule } from '@tidegate/auth';
import { dispatchPartitions, type SchedulerConfig, type SchedulerRole } from '@tidegate/config';
import { DatabaseErrorFilter, DatabaseModule } from '@tidegate/database';
import { HealthModule, loggingModule, MetricsModule } from '@tidegate/observability';
import { RedisModule } from '@tidegate/redis';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { CampaignsModule } from './campaigns/campaigns.module';
import { ForecastModule } from './campaigns/forecast/forecast.module';
import { DevicesModule } from './devices/devices.module';
import { QueuesModule } from './queues/queues.module';
import { RoomsModule } from './rooms/rooms.module';
import { TuningModule } from './tuning/tuning.module';
import { DispatchModule } from './dispatch/dispatch.module';
import { runsWorkers, servesApi } from './role';

@Module({})
export class SchedulerModule {
  static forRoot(config: SchedulerConfig, role: SchedulerRole): DynamicModule {
    const api = servesApi(role);
    const workers = runsWorkers(role);
    return {
      module: SchedulerModule,
      imports: [
        loggingModule({ app: `scheduler-${role}`, level: config.LOG_LEVEL, requests: api }),
        RedisModule.forRoot({
          url: config.REDIS_URL,
          clusterNodes: config.REDIS_CLUSTER_NODES,
          keyPrefix: config.REDIS_KEY_PREFIX,
          name: `scheduler-${role}`,
        }),
        DatabaseModule.forRoot({
          connectionString: config.DATABASE_URL,
          max: config.DATABASE_POOL_SIZE,
          applicationName: `tidegate-scheduler-${role}`,
        }),
        MetricsModule.forRoot('scheduler'),
        HealthModule.forRoot(),
        QueuesModule.forRoot({ api, keyPrefix: config.REDIS_KEY_PREFIX, sendPartitions: dispatchPartitions(config).queues }),
        CampaignsModule.forRoot({ api }),
        ...(workers ? [DispatchModule.forRoot(config)] : []),
        ...(api
          ? [AdminAuthModule, ApiKeysModule.forRoot(config.BOOTSTRAP_API_KEY), RoomsModule, DevicesModule, TuningModule, ForecastModule]
          : []),
      ],
      // PostgreSQL out of reach is a 503 with Retry-After; a value it refuses as data (out of range, a NUL byte) a 400.
      providers: [{ provide: APP_FILTER, useClass: DatabaseErrorFilter }],
    };
  }
}
