import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  batchRedisWritesPerTurn,
  closeRedisClient,
  createRedisClient,
  REDIS_CONNECTION,
  type RedisClient,
  type RedisConnectionOptions,
} from '@tidegate/redis';

/**
 * The Redis connection BullMQ queues share (workers open their own blocking duplicates). Owned here, so it is
 * closed after BullMQ has closed its queues and workers.
 */
@Injectable()
export class BullConnection implements OnApplicationShutdown {
  readonly client: RedisClient;

  constructor(@Inject(REDIS_CONNECTION) connection: RedisConnectionOptions) {
    const logger = new Logger('BullMQ');
    this.client = createRedisClient(connection, { name: 'bullmq', forBullmq: true, onEvent: (m) => logger.warn(m) });
    // A turn's queue commands (jobs taken, finished, added by several batches at once) go out in one write.
    batchRedisWritesPerTurn(this.client);
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRedisClient(this.client);
  }
}
