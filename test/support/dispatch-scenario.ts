/**
 * Dispatch scenarios with a fixed clock: the scheduler's worker module (real PostgreSQL, real Redis and BullMQ, the
 * push sink instead of providers) compiled in-process with DISPATCH_NOW overridden, its BullMQ workers NOT started
 * (the module is compiled, never initialised), so a test calls `BatchSender.run` / `WavePlanner.run` itself and
 * inspects the queues it wrote to. Only the handle of the running BullMQ job is a test double (`FakeJob`).
 */
import { getQueueToken } from '@nestjs/bullmq';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Prisma } from '@prisma/client';
import type { Queue } from 'bullmq';
import { loadConfig, schedulerEnvSchema } from '@tidegate/config';
import { QueueName, sendQueueName } from '@tidegate/contracts';
import { PrismaService } from '@tidegate/database';
import type { QuietHours, RateLimits, SendWindow } from '@tidegate/domain';
import type { SinkProvider } from '@tidegate/push';
import { DispatchStore, REDIS, RedisKeys, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { BatchSender } from '../../apps/scheduler/src/dispatch/batch-sender';
import { DISPATCH_NOW } from '../../apps/scheduler/src/dispatch/dispatch-options';
import type { JobControl } from '../../apps/scheduler/src/queues/dispatch-queues';
import { PushProviders } from '../../apps/scheduler/src/dispatch/push-providers';
import { WavePlanner } from '../../apps/scheduler/src/dispatch/wave-planner';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { createTestDatabase, type TestDatabase } from './database';
import { redisEnv, waveTicketEnv } from './env';
import { createTestRedis, deleteByPattern, type TestRedis } from './redis';

/** The dispatch code's clock, fixed until a test moves it. */
export class FixedClock {
  constructor(public ms: number) {}
  set(iso: string): number {
    this.ms = Date.parse(iso);
    if (Number.isNaN(this.ms)) throw new Error(`not an instant: ${iso}`);
    return this.ms;
  }
  readonly now = (): number => this.ms;
}

/** The handle of a running BullMQ job, recording what the processor asked of it. */
export class FakeJob implements JobControl {
  readonly moves: number[] = [];
  readonly updates: unknown[] = [];
  constructor(
    readonly id: string,
    public data: unknown,
  ) {}
  moveToDelayed(at: number): Promise<void> {
    this.moves.push(at);
    return Promise.resolve();
  }
  updateData(data: unknown): Promise<void> {
    this.data = data;
    this.updates.push(data);
    return Promise.resolve();
  }
}

export interface DispatchScenario {
  module: TestingModule;
  clock: FixedClock;
  sender: BatchSender;
  planner: WavePlanner;
  store: DispatchStore;
  keys: RedisKeys;
  prisma: PrismaService;
  sink: SinkProvider;
  sendQueue: Queue;
  planQueue: Queue;
  /** Forgets the rate-limit buckets (a scenario's fixed instant may be earlier than the previous one's). */
  resetRateLimits(): Promise<void>;
  close(): Promise<void>;
}

const quietLogger = {
  log: () => undefined,
  warn: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
  error: (...args: unknown[]) => void process.stderr.write(`${args.map((a) => (a instanceof Error ? a.stack : String(a))).join(' ')}\n`),
};

export async function startDispatchScenario(env: { databaseUrl: string; redisPrefix: string }, start: string): Promise<DispatchScenario> {
  const clock = new FixedClock(Date.parse(start));
  const config = loadConfig(schedulerEnvSchema, {
    DATABASE_URL: env.databaseUrl,
    REDIS_KEY_PREFIX: env.redisPrefix,
    LOG_LEVEL: 'silent',
    DATABASE_POOL_SIZE: '3',
    PUSH_SINK: 'true',
    ...redisEnv(),
    ...waveTicketEnv(),
  });
  const module = await Test.createTestingModule({ imports: [SchedulerModule.forRoot(config, 'worker')] })
    .overrideProvider(DISPATCH_NOW)
    .useValue(clock.now)
    .setLogger(quietLogger)
    .compile();
  const sink = module.get(PushProviders).sink;
  if (!sink) throw new Error('PUSH_SINK is on, yet the providers have no sink');
  const keys = module.get(RedisKeys);
  const store = module.get(DispatchStore);
  const redis = module.get<RedisClient>(REDIS);
  // The app's client is fail-fast (no offline queue); an app waits for it at boot, and so does this.
  await waitUntilReady(redis, 10_000);
  return {
    module,
    clock,
    sender: module.get(BatchSender),
    planner: module.get(WavePlanner),
    store,
    keys,
    prisma: module.get(PrismaService),
    sink,
    // The send queue of partition 0: a scenario's small campaign is pinned to one partition (libs/redis partitionsFor).
    sendQueue: module.get<Queue>(getQueueToken(sendQueueName(0)), { strict: false }),
    planQueue: module.get<Queue>(getQueueToken(QueueName.Plan), { strict: false }),
    resetRateLimits: async () => {
      await deleteByPattern(redis, `${keys.prefix}:{limits}:*`);
    },
    close: () => module.close(),
  };
}

/**
 * A test file's scenario: a fresh database and key prefix, started before the file's tests (in its `beforeAll`, which
 * runs before any the file declares after calling this) and closed after them. Returns the scenario once started.
 */
export function dispatchScenarioPerFile(start: string): () => DispatchScenario {
  let db: TestDatabase | undefined;
  let redis: TestRedis | undefined;
  let scenario: DispatchScenario | undefined;
  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scenario = await startDispatchScenario({ databaseUrl: db.url, redisPrefix: redis.prefix }, start);
  });
  afterAll(async () => {
    await scenario?.close();
    await Promise.all([redis?.cleanup(), db?.drop()]);
  });
  return () => {
    if (!scenario) throw new Error('the dispatch scenario is not started yet: read it in a hook or a test');
    return scenario;
  };
}

export interface ScenarioDevice {
  id: string;
  timezone: string;
}

/** Inserts one FCM device per zone (in that order) and returns them with their ids. */
export async function insertDevices(prisma: PrismaService, zones: readonly string[]): Promise<ScenarioDevice[]> {
  const out: ScenarioDevice[] = [];
  for (const timezone of zones) {
    const row = await prisma.device.create({
      data: { platform: 'fcm', token: `scenario-${Math.random().toString(36).slice(2)}-${out.length}`, timezone },
      select: { id: true, timezone: true },
    });
    out.push({ id: row.id.toString(), timezone: row.timezone });
  }
  return out;
}

const json = (value: unknown) => value as Prisma.InputJsonValue;

export interface ScenarioCampaign {
  deviceIds: string[];
  /** A segment audience instead of the listed ids (libs/database Segment, as the API stores it). */
  segment?: Record<string, unknown>;
  sendWindow?: SendWindow | null;
  quietHours?: QuietHours | null;
  waveSize?: number;
  batchSize?: number;
  intervalSeconds?: number;
  rateLimits?: RateLimits | null;
}

/** Inserts a running campaign whose stored content is what the API would have written. Returns its id. */
export async function insertRunningCampaign(prisma: PrismaService, c: ScenarioCampaign): Promise<string> {
  const row = await prisma.campaign.create({
    data: {
      name: 'scenario',
      status: 'running',
      message: { title: 'Night sale', body: '-30% until dawn' },
      audience: c.segment ? json({ segment: c.segment }) : { deviceIds: c.deviceIds },
      schedule: json({ startAt: null, sendWindow: c.sendWindow ?? null, quietHours: c.quietHours ?? null }),
      wavePlan: {
        batchSize: c.batchSize ?? 500,
        waveSize: c.waveSize ?? 50_000,
        intervalSeconds: c.intervalSeconds ?? 60,
        rateLimits: c.rateLimits ? json(c.rateLimits) : null,
      },
    },
    select: { id: true },
  });
  return row.id;
}
