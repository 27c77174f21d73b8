import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { QUEUE_NAMES } from '@tidegate/contracts';
import { MetricsRegistry } from '@tidegate/observability';
import { SendQueues } from './send-queues';

export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];
export type QueueCounts = Record<JobState, number>;

/** Job counts per queue, for the admin API and for Prometheus (read from Redis at scrape time). */
@Injectable()
export class QueueStatsService implements OnModuleInit {
  private queues = new Map<string, Queue>();

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly registry: MetricsRegistry,
  ) {}

  onModuleInit(): void {
    for (const name of QUEUE_NAMES) this.queues.set(name, this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }));
    // The partitioned send queues, each on its own (send-0, send-1, …).
    for (const queue of this.moduleRef.get(SendQueues, { strict: false }).all) this.queues.set(queue.name, queue);
    const gauge: Gauge<'queue' | 'state'> = new Gauge({
      name: 'tidegate_queue_jobs',
      help: 'BullMQ jobs per queue and state (read from Redis at scrape time)',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      collect: async () => {
        gauge.reset();
        const all = await this.counts().catch(() => null);
        if (!all) return;
        for (const [queue, counts] of Object.entries(all)) {
          for (const state of JOB_STATES) gauge.set({ queue, state }, counts[state]);
        }
      },
    });
  }

  /** Per queue: plan, send (the queue from before partitions), stats, send-0 … send-<n-1>. */
  async counts(): Promise<Record<string, QueueCounts>> {
    const entries = await Promise.all(
      [...this.queues].map(async ([name, queue]) => {
        const raw = await queue.getJobCounts(...JOB_STATES);
        const counts = Object.fromEntries(JOB_STATES.map((s) => [s, raw[s] ?? 0])) as QueueCounts;
        return [name, counts] as const;
      }),
    );
    return Object.fromEntries(entries);
  }
}
