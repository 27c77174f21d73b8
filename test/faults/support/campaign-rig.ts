/**
 * A campaign run for fault tests, every app a separate process (the built dist/), so the test may kill the servers
 * under them: the scheduler api (`--role=api`, an sre key installed by BOOTSTRAP_API_KEY) and workers
 * (`--role=worker`), pointed at the given PostgreSQL and Redis, the three provider fakes on loopback, devices seeded
 * straight into PostgreSQL. It measures what a fault test reports: lost and duplicated devices from what the fakes
 * received.
 */
import { generateApiKey } from '@tidegate/auth';
import { PrismaService } from '@tidegate/database';
import { adminCall, type AdminAnswer } from '../../support/admin-api';
import { waveTicketEnv } from '../../support/env';
import { freePort, httpStatus, spawnApp, waitFor, type Proc } from '../../support/processes';
import { deliveriesByDevice, seedDevices, spawnWorker, startPushFakes, type PushFakes, type SeededDevice } from '../../support/push-fakes';

export interface RigOptions {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** More environment for the workers (SEND_CONCURRENCY, JOB_LOCK_MS, DISPATCH_REDRIVE_MS…). */
  workerEnv?: Record<string, string>;
}

export interface WavePlan {
  batchSize: number;
  waveSize: number;
  intervalSeconds: number;
  ratePerMinute: number;
}

export interface Outcome {
  lost: number;
  duplicated: number;
  /** Devices that got more than one message. */
  devicesTwice: number;
}

export class CampaignRig {
  readonly workers: Array<Proc & { url: string }> = [];
  private constructor(
    private readonly options: RigOptions,
    readonly prisma: PrismaService,
    readonly fakes: PushFakes,
    readonly api: Proc & { url: string },
    private readonly key: string,
  ) {}

  static async start(options: RigOptions): Promise<CampaignRig> {
    const fakes = await startPushFakes();
    const prisma = new PrismaService({ connectionString: options.databaseUrl, max: 3 });
    const { key } = generateApiKey();
    const port = await freePort();
    const api = spawnApp(
      'scheduler',
      {
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl,
        REDIS_KEY_PREFIX: options.redisPrefix,
        ...waveTicketEnv(),
        BOOTSTRAP_API_KEY: key,
        SCHEDULER_PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        DATABASE_POOL_SIZE: '4',
      },
      ['--role=api'],
    );
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await httpStatus(`${url}/health/live`)) === 200, 30_000, `the scheduler api: ${api.output()}`);
    return new CampaignRig(options, prisma, fakes, Object.assign(api, { url }), key);
  }

  call(method: string, path: string, body?: unknown): Promise<AdminAnswer> {
    return adminCall(this.api.url, this.key, method, path, body);
  }

  async startWorker(): Promise<Proc & { url: string }> {
    const worker = await spawnWorker({
      databaseUrl: this.options.databaseUrl,
      redisPrefix: this.options.redisPrefix,
      fakes: this.fakes,
      extra: { REDIS_URL: this.options.redisUrl, ...this.options.workerEnv },
    });
    this.workers.push(worker);
    return worker;
  }

  seed(count: number, tag: string): Promise<SeededDevice[]> {
    return seedDevices(this.prisma, this.fakes, count, { tags: [tag] });
  }

  /** Creates and starts a campaign to the devices tagged `tag`; returns its id. */
  async startCampaign(tag: string, plan: WavePlan): Promise<string> {
    const created = await this.call('POST', '/admin/campaigns', {
      name: `fault ${tag}`,
      message: { title: 'Hello', body: 'Tidegate' },
      audience: { segment: { tagsAll: [tag] } },
      wave_plan: {
        batch_size: plan.batchSize,
        wave_size: plan.waveSize,
        interval_seconds: plan.intervalSeconds,
        rate_limits: { campaign: plan.ratePerMinute },
      },
    });
    if (created.status !== 201) throw new Error(`POST /admin/campaigns answered ${created.status}: ${JSON.stringify(created.body)}`);
    const id = created.body.id as string;
    const started = await this.call('POST', `/admin/campaigns/${id}/start`);
    if (started.status !== 200) throw new Error(`start answered ${started.status}: ${JSON.stringify(started.body)}`);
    return id;
  }

  /** Messages the fakes accepted, all providers. */
  delivered(): number {
    return this.fakes.fcm.delivered().length + this.fakes.apns.delivered().length + this.fakes.webpush.delivered().length;
  }

  /** The campaign's status as PostgreSQL has it (through the admin API); undefined while the API cannot say. */
  async status(id: string): Promise<string | undefined> {
    const res = await this.call('GET', `/admin/campaigns/${id}`).catch(() => undefined);
    return res?.status === 200 ? (res.body.status as string) : undefined;
  }

  outcome(devices: readonly SeededDevice[]): Outcome {
    const received = deliveriesByDevice(this.fakes, devices);
    let lost = 0;
    let duplicated = 0;
    let devicesTwice = 0;
    for (const count of received.values()) {
      if (count === 0) lost++;
      if (count > 1) devicesTwice++;
      duplicated += Math.max(0, count - 1);
    }
    return { lost, duplicated, devicesTwice };
  }

  async close(): Promise<void> {
    await Promise.all([this.api.stop(), ...this.workers.map((w) => w.stop())]);
    await Promise.all([this.fakes.close(), this.prisma.$disconnect()]);
  }
}
