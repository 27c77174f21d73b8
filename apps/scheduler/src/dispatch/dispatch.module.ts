import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { WaveTicketThreads } from '@tidegate/admission';
import { dispatchPartitions, type SchedulerConfig } from '@tidegate/config';
import { batchRedisWritesPerTurn, REDIS, type RedisClient } from '@tidegate/redis';
import { BatchSender } from './batch-sender';
import { DispatchClock } from './dispatch-clock';
import { DispatchMetrics } from './dispatch-metrics';
import { DISPATCH_NOW, DISPATCH_OPTIONS, type DispatchOptions } from './dispatch-options';
import { DispatchWorkers } from './dispatch-workers';
import { PushProviders } from './push-providers';
import { WavePlanner } from './wave-planner';
import { Redriver } from './redriver';
import { WaveTickets } from './wave-tickets.service';
import { CampaignPacer } from '../pacing/campaign-pacer';
import { PaceReader } from '../pacing/pace-reader';

/** A provider that installs turn-batched writes on the worker's Redis client (libs/redis turn-writes.ts). */
const REDIS_TURN_WRITES = Symbol('REDIS_TURN_WRITES');

/**
 * Campaign dispatch (docs/dispatch.md), for the worker role: the planner, the sender, the stats flush, the clock
 * that starts scheduled campaigns and re-drives stalled ones, and the push providers. Every status change goes
 * through the campaigns module's lifecycle (global); queues come from the QueuesModule (global BullMQ registration).
 */
@Module({})
export class DispatchModule {
  static forRoot(config: SchedulerConfig): DynamicModule {
    const options: DispatchOptions = {
      sendConcurrency: config.SEND_CONCURRENCY,
      statsFlushMs: config.STATS_FLUSH_MS,
      tickMs: config.DISPATCH_TICK_MS,
      lockMs: config.JOB_LOCK_MS,
      redriveAfterMs: config.DISPATCH_REDRIVE_MS,
      pacingTickMs: config.PACING_TICK_MS,
      partitions: dispatchPartitions(config).campaign,
      partitionBlock: config.DISPATCH_PARTITION_BLOCK,
    };
    const providers: Provider[] = [
      { provide: DISPATCH_OPTIONS, useValue: options },
      { provide: DISPATCH_NOW, useValue: Date.now },
      { provide: PushProviders, useFactory: () => new PushProviders(config) },
      WavePlanner,
      BatchSender,
      DispatchMetrics,
      DispatchWorkers,
      Redriver,
      DispatchClock,
      CampaignPacer,
      PaceReader,
      // A batch's Redis commands (ledger check, record, progress) and those of the other batches and the planner in the
      // same event-loop turn go out in one socket write (libs/redis turn-writes.ts); BullMQ's connection does too.
      {
        provide: REDIS_TURN_WRITES,
        inject: [REDIS],
        useFactory: (redis: RedisClient) => {
          batchRedisWritesPerTurn(redis);
          return true;
        },
      },
      { provide: WaveTicketThreads, useFactory: () => new WaveTicketThreads(config.WAVE_TICKET_SECRET, config.WAVE_TICKET_THREADS) },
      WaveTickets,
    ];
    return { module: DispatchModule, providers };
  }
}
