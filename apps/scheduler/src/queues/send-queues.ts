import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName, sendQueueNames } from '@tidegate/contracts';
import { SINGLE_PARTITION, type Partition } from '@tidegate/redis';

/** How many partitioned send queues there are (libs/config dispatchPartitions): every scheduler process must agree. */
export const SEND_QUEUE_COUNT = Symbol('SEND_QUEUE_COUNT');

/**
 * The partitioned send queues (`send-0` … `send-<n-1>`, libs/contracts sendQueueName) and the queue from before
 * partitions (`send`, drained, never added to): which queue a batch goes to, and all of them for the workers, the
 * board and the counts.
 */
@Injectable()
export class SendQueues {
  private resolved: { partitioned: Queue[]; legacy: Queue } | null = null;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(SEND_QUEUE_COUNT) readonly count: number,
  ) {}

  /** Looked up on first use (every queue provider exists by then, whatever order modules initialise in). */
  private get queues(): { partitioned: Queue[]; legacy: Queue } {
    if (!this.resolved) {
      const get = (name: string) => this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      this.resolved = { partitioned: sendQueueNames(this.count).map(get), legacy: get(QueueName.Send) };
    }
    return this.resolved;
  }

  /** The queue of a batch of `partition` (a job without one: partition 0 of 1). */
  of(partition: Partition | undefined): Queue {
    return this.queues.partitioned[(partition ?? SINGLE_PARTITION).index % this.count] as Queue;
  }

  /** The partitioned queues. */
  get all(): readonly Queue[] {
    return this.queues.partitioned;
  }

  /** Every queue a send job may be in: the partitioned ones and the one from before partitions. */
  get withLegacy(): readonly Queue[] {
    return [...this.queues.partitioned, this.queues.legacy];
  }
}
