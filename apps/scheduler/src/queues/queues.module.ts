import { Global, Module, type DynamicModule } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { QUEUE_NAMES, sendQueueNames } from '@tidegate/contracts';
import { RedisKeys } from '@tidegate/redis';
import { BullConnection } from './bull-connection';
import { QueueBoard } from './queue-board';
import { QueueStatsService } from './queue-stats.service';
import { QueuesController } from './queues.controller';
import { SEND_QUEUE_COUNT, SendQueues } from './send-queues';

@Global()
@Module({ providers: [BullConnection], exports: [BullConnection] })
class BullConnectionModule {}

/**
 * Every queue of libs/contracts, on one shared connection with the hash-tagged prefix from the key builder
 * (`<prefix>:{bull}`), so the same code runs on Redis Cluster; and the partitioned send queues `send-<q>`, each with
 * its partition's hash tag (`sendPartitions` of them: libs/config dispatchPartitions). Processes serving the API also mount the queue
 * dashboard (Bull Board, `sre` only) at `/admin/board`: see queue-board.ts.
 */
@Module({})
export class QueuesModule {
  static forRoot(options: { api: boolean; keyPrefix: string; sendPartitions: number }): DynamicModule {
    const keys = new RedisKeys(options.keyPrefix);
    return {
      module: QueuesModule,
      // Global: the dispatch module's producers and processors use these queues.
      global: true,
      imports: [
        BullConnectionModule,
        BullModule.forRootAsync({
          inject: [BullConnection, RedisKeys],
          useFactory: (conn: BullConnection, keys: RedisKeys) => ({ connection: conn.client, prefix: keys.bullPrefix }),
        }),
        BullModule.registerQueue(
          ...QUEUE_NAMES.map((name) => ({ name })),
          ...sendQueueNames(options.sendPartitions).map((name, q) => ({ name, prefix: keys.sendQueuePrefix(q, options.sendPartitions) })),
        ),
      ],
      controllers: options.api ? [QueuesController] : [],
      providers: [
        { provide: SEND_QUEUE_COUNT, useValue: options.sendPartitions },
        SendQueues,
        QueueStatsService,
        ...(options.api ? [QueueBoard] : []),
      ],
      exports: [BullModule, QueueStatsService, SendQueues],
    };
  }
}
