import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@tidegate/observability';
import { Counter, Histogram } from 'prom-client';

/**
 * What SREs watch while a campaign sends (GET /metrics on each worker): messages by provider and outcome, how long
 * provider calls take, and how often batches wait for a rate limit, the window or a paused campaign.
 */
@Injectable()
export class DispatchMetrics {
  readonly messages: Counter<'provider' | 'outcome'>;
  readonly providerSeconds: Histogram<'provider'>;
  readonly waits: Counter<'reason'>;

  constructor(registry: MetricsRegistry) {
    this.messages = new Counter({
      name: 'tidegate_push_messages_total',
      help: 'Messages by provider and outcome (sent, invalid, failed, retry, held, inactive, duplicate_skipped)',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    });
    this.providerSeconds = new Histogram({
      name: 'tidegate_push_provider_call_seconds',
      help: 'Time for one provider call (one batch share of one platform)',
      labelNames: ['provider'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.waits = new Counter({
      name: 'tidegate_dispatch_waits_total',
      help: 'Jobs moved to later instead of running now, by reason (rate_limit, window, paused)',
      labelNames: ['reason'],
      registers: [registry],
    });
  }
}
