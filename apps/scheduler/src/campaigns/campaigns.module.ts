import { Module, type DynamicModule } from '@nestjs/common';
import { DispatchRepository } from '@tidegate/database';
import { DispatchStore, FunnelStore, REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import { DispatchQueues } from '../queues/dispatch-queues';
import { CampaignStatsService } from './stats/campaign-stats.service';
import { CampaignsController } from './campaigns.controller';
import { CampaignsService } from './campaigns.service';
import { CampaignLifecycle } from './lifecycle/campaign-lifecycle';
import { CampaignLifecycleController } from './lifecycle/campaign-lifecycle.controller';
import { DispatchContext } from './lifecycle/dispatch-context';
import { Resender } from './lifecycle/resender';
import { WaveRecipients } from './lifecycle/wave-recipients';
import { StatsFlusher } from './stats/stats-flusher';

/**
 * Campaigns: content, the lifecycle (every status change, its timeline and its queue work) and the stats. Global, so
 * the dispatch workers reach the lifecycle without importing this module back; the admin routes only for the api
 * role. Repositories come from the global DatabaseModule, Redis from the global RedisModule, the queues from the
 * global QueuesModule.
 */
@Module({})
export class CampaignsModule {
  static forRoot(roles: { api: boolean }): DynamicModule {
    const dispatchStore = {
      provide: DispatchStore,
      inject: [REDIS, RedisKeys],
      useFactory: (redis: RedisClient, keys: RedisKeys) => new DispatchStore(redis, keys),
    };
    const funnelStore = {
      provide: FunnelStore,
      inject: [REDIS, RedisKeys],
      useFactory: (redis: RedisClient, keys: RedisKeys) => new FunnelStore(redis, keys),
    };
    const exported = [
      CampaignsService,
      CampaignStatsService,
      CampaignLifecycle,
      DispatchContext,
      DispatchQueues,
      DispatchRepository,
      DispatchStore,
      FunnelStore,
      StatsFlusher,
      WaveRecipients,
      Resender,
    ];
    return {
      module: CampaignsModule,
      global: true,
      controllers: roles.api ? [CampaignsController, CampaignLifecycleController] : [],
      providers: [...exported.filter((p) => p !== DispatchStore && p !== FunnelStore), dispatchStore, funnelStore],
      exports: exported,
    };
  }
}
