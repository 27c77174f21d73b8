import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { SchedulerConfig } from '@tidegate/config';
import { DispatchRepository } from '@tidegate/database';
import { DispatchStore, REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import { CampaignsModule } from '../campaigns/campaigns.module';
import { BatchSender } from './batch-sender';
import { CampaignLifecycle } from './campaign-lifecycle';
import { DispatchClock } from './dispatch-clock';
import { DISPATCH_NOW, DispatchContext } from './dispatch-context';
import { DispatchController } from './dispatch.controller';
import { DispatchMetrics } from './dispatch-metrics';
import { DISPATCH_OPTIONS, DispatchWorkers, type DispatchOptions } from './dispatch-workers';
import { DispatchQueues } from './dispatch-queues';
import { PushProviders } from './push-providers';
import { StatsFlusher } from './stats-flusher';
import { WavePlanner } from './wave-planner';

/**
 * Campaign dispatch (docs/dispatch.md). The API role gets start/pause/resume and what they need to queue work; the
 * worker role gets the planner, the sender, the stats flush, the clock that starts scheduled campaigns and the push
 * providers. Queues come from the QueuesModule (global BullMQ registration).
 */
@Module({})
export class DispatchModule {
  static forRoot(config: SchedulerConfig, roles: { api: boolean; workers: boolean }): DynamicModule {
    const options: DispatchOptions = {
      sendConcurrency: config.SEND_CONCURRENCY,
      statsFlushMs: config.STATS_FLUSH_MS,
      tickMs: config.DISPATCH_TICK_MS,
      lockMs: config.JOB_LOCK_MS,
    };
    const shared: Provider[] = [
      { provide: DISPATCH_OPTIONS, useValue: options },
      { provide: DISPATCH_NOW, useValue: Date.now },
      {
        provide: DispatchStore,
        inject: [REDIS, RedisKeys],
        useFactory: (redis: RedisClient, keys: RedisKeys) => new DispatchStore(redis, keys),
      },
      DispatchRepository,
      DispatchContext,
      DispatchQueues,
      StatsFlusher,
      CampaignLifecycle,
    ];
    const workers: Provider[] = roles.workers
      ? [
          { provide: PushProviders, useFactory: () => new PushProviders(config) },
          WavePlanner,
          BatchSender,
          DispatchMetrics,
          DispatchWorkers,
          DispatchClock,
        ]
      : [];
    return {
      module: DispatchModule,
      imports: roles.api ? [CampaignsModule] : [],
      controllers: roles.api ? [DispatchController] : [],
      providers: [...shared, ...workers],
      exports: [CampaignLifecycle, DispatchStore, StatsFlusher],
    };
  }
}
