/**
 * The dispatch benchmark (issue 3): how fast a campaign goes out, and what the FCM adapter costs on the wire.
 *
 * 1. A campaign to every one of `--recipients` devices (default 1,000,000; fcm, apns and webpush in turn), sent to
 *    the sink provider with no rate limit, by the real scheduler: an API process (`--role=api`: create, start,
 *    status) and a worker process (`--role=worker`, PUSH_SINK=true). notifications/s = recipients ÷ seconds from the
 *    start request to the campaign's completion (its `updated_at` when it turned `completed`), and the peak Redis
 *    memory meanwhile. Next to the minimal pipeline in the same run (bench/servers/dispatch-baseline.ts): the same
 *    rows read by keyset pagination, pushed as raw BullMQ jobs of the same batch size through an empty processor
 *    with the same concurrency: `--baseline-rounds` of it (one before Tidegate's run, the rest after), the median
 *    counting.
 * 2. `--fcm` messages (default 100,000) through the real FcmProvider to the tests' strict fake FCM (its own
 *    process, HTTP/2 h2c), in batches of 500 with the provider's own concurrency (100 streams), next to a raw
 *    `node:http2` client sending the same requests (same body, same bearer token, at most 100 streams) to the same
 *    fake. Each message carries its own wave ticket, as a campaign's do (in its data and deep links); the raw client's
 *    bodies carry the same. Rounds alternate; medians reported.
 *
 * How to read the numbers: docs/benchmarks.md. Options: --recipients (1000000), --baseline-rounds (3), --fcm
 * (100000; 0 skips the FCM part), --fcm-rounds (3), --send-concurrency (SEND_CONCURRENCY of the worker, and the
 * baseline's concurrency, 8), --batch (500), --wave (100000), --timeout (seconds each pipeline may take; default 1200
 * per million recipients, at least 120), --cpu-prof=<dir> (a V8 CPU profile of the worker process, and of the
 * benchmark's process during the last FCM round: fcm-adapter.cpuprofile, fcm-raw.cpuprofile).
 */
import { createECDH, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import { Session } from 'node:inspector';
import path from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { generateApiKey } from '@tidegate/auth';
import {
  fcmRequest,
  FcmProvider,
  payloadFor,
  withWaveTicket,
  type NotificationPayload,
  type PushMessage,
  type ServiceAccount,
} from '@tidegate/push';
import { abortable } from './lib/abort';
import { appEnv, benchServer, cpuProfileArgs, redisCounts, startApp, waitReady, type RunningApp } from './lib/apps';
import { cpuBetween, cpuReading, type CpuReading } from './lib/cpu';
import { baseEnv, freePort, processCpuSeconds, sleep, startChild, waitFor, type Child } from './lib/processes';
import { sampleRedisMemory, type RedisMemoryPeak } from './lib/redis-memory';
import { round } from './lib/results';
import { scriptNames } from './lib/scripts';
import { median } from './lib/stats';
import {
  commandDelta,
  createBenchDatabase,
  createBenchRedis,
  deleteByPattern,
  redisInfo,
  scanKeys,
  serverCounters,
  type BenchDatabase,
  type BenchRedis,
  type ServerCounters,
} from './lib/services';
import type { BenchContext, BenchOutcome, Benchmark } from './lib/types';

/** Devices inserted per statement while seeding. */
const SEED_CHUNK = 100_000;
/** How often the campaign's status is polled. */
const POLL_MS = 200;
/** FCM: messages per provider call (the batch size of a send job). */
const FCM_BATCH = 500;
/** FCM: streams in flight at once: the provider's default `maxConcurrency`, and the fake's stream limit. */
const FCM_STREAMS = 100;
/** FCM: requests each client sends before the measured rounds (connection, token, JIT). */
const FCM_WARMUP = 2000;

export const benchmark: Benchmark = {
  describe:
    'campaign dispatch: notifications/s of a 1,000,000-recipient campaign to the sink vs raw BullMQ jobs, peak Redis memory; FCM adapter vs raw HTTP/2',
  run,
};

type Json = Record<string, unknown>;

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const recipients = ctx.number('recipients', 1_000_000, 1000, 10_000_000);
  const fcmMessages = ctx.number('fcm', 100_000, 0, 1_000_000);
  const fcmRounds = ctx.number('fcm-rounds', 3, 1, 10);
  const rounds = ctx.number('baseline-rounds', 3, 1, 10);
  const concurrency = ctx.number('send-concurrency', 8, 1, 64);
  const batchSize = ctx.number('batch', 500, 1, 500);
  const waveSize = ctx.number('wave', 100_000, batchSize, 10_000_000);
  const timeoutSeconds = ctx.number('timeout', Math.max(120, Math.ceil((1200 * recipients) / 1_000_000)), 10, 24 * 3600);
  const profileDir = ctx.options['cpu-prof'];
  if (!Number.isInteger(recipients) || !Number.isInteger(fcmMessages) || !Number.isInteger(batchSize) || !Number.isInteger(waveSize)) {
    throw new Error('--recipients, --fcm, --batch and --wave must be whole numbers');
  }

  const [db, redis] = await Promise.all([createBenchDatabase(ctx), createBenchRedis(ctx)]);
  ctx.log(`database ${db.name}, Redis prefix ${redis.prefix}`);
  const seedSeconds = await seedDevices(ctx, db, recipients);

  // One baseline round, Tidegate, then the other baseline rounds: the short baseline samples the machine before and
  // after the long run, and the median round counts. Each run starts with the other's keys gone and PostgreSQL's
  // cache equally warm (the seed and VACUUM just read every row).
  const baselineOptions = { recipients, batchSize, concurrency, timeoutSeconds };
  ctx.log(`baseline: ${recipients.toLocaleString('en-US')} rows as raw BullMQ jobs of ${batchSize}, concurrency ${concurrency}`);
  const baselineRounds = [await runBaselineRound(ctx, db, redis, baselineOptions, `baseline 1/${rounds}`)];
  const tidegate = await runTidegate(ctx, db, redis, { recipients, batchSize, waveSize, concurrency, timeoutSeconds, profileDir });
  for (let r = 2; r <= rounds; r++) baselineRounds.push(await runBaselineRound(ctx, db, redis, baselineOptions, `baseline ${r}/${rounds}`));
  const baseline = [...baselineRounds].sort((a, b) => a.seconds - b.seconds)[
    Math.floor((baselineRounds.length - 1) / 2)
  ] as (typeof baselineRounds)[number];
  const fcm = fcmMessages > 0 ? await runFcm(ctx, fcmMessages, fcmRounds, profileDir) : null;

  const value = recipients / tidegate.seconds;
  const baselineValue = recipients / baseline.seconds;
  const batches = Math.ceil(recipients / batchSize);
  return {
    name: 'dispatch',
    metric: 'notifications/s',
    unit: 'notifications/s',
    value: Math.round(value),
    baseline: Math.round(baselineValue),
    ratio: round(value / baselineValue),
    params: {
      recipients,
      batchSize,
      waveSize,
      intervalSeconds: 0,
      sendConcurrency: concurrency,
      provider: 'sink (PUSH_SINK=true)',
      rateLimits: 'none (system and campaign limits null)',
      partitions: 'DISPATCH_PARTITIONS unset (the campaign as pinned: extra.stats.partitions)',
      platforms: 'fcm, apns, webpush in turn',
      baselineRounds: rounds,
      fcmMessages,
      fcmRounds,
    },
    extra: {
      peakRedisMemoryBytes: tidegate.memory.peakDelta,
      baselinePeakRedisMemoryBytes: Math.max(...baselineRounds.map((b) => b.memory.peakDelta)),
      seconds: round(tidegate.seconds),
      baselineSeconds: round(baseline.seconds),
      ...(fcm && {
        fcmValue: fcm.value,
        fcmBaseline: fcm.baseline,
        fcmRatio: fcm.ratio,
      }),
      redisCpuMicrosecondsPerBatch: microsPer(tidegate.cpu.redis, batches),
      baselineRedisCpuMicrosecondsPerBatch: microsPer(baseline.cpu.redis, batches),
      workerCpuMicrosecondsPerNotification: microsPer(tidegate.cpu.worker, recipients),
      baselineProcessCpuMicrosecondsPerNotification: microsPer(baseline.cpu.baseline, recipients),
      workerRedisCommandsPerBatch: round(tidegate.workerCommands.total / batches),
      redisCommandsExecutedPerBatch: round(tidegate.server.calls / batches),
      baselineRedisCommandsExecutedPerBatch: round(baseline.server.calls / batches),
      firstWaveStartedMs: tidegate.firstWaveMs,
      waves: tidegate.waves,
      seedSeconds: round(seedSeconds),
      fcm,
      redisMemory: { tidegate: tidegate.memory, baseline: baseline.memory },
      redisBytesAfterTidegateByKind: tidegate.keysAfter,
      cpuCores: { tidegate: cores(tidegate.cpu, tidegate.seconds), baseline: cores(baseline.cpu, baseline.seconds) },
      cpuSeconds: { tidegate: roundAll(tidegate.cpu), baseline: roundAll(baseline.cpu) },
      redisCommandsExecuted: { tidegate: tidegate.server.calls, baseline: baseline.server.calls },
      redisServerPerBatchByCommand: { tidegate: tidegate.byCommand, baseline: baseline.byCommand },
      workerRedisCommandsByCommandPerBatch: Object.fromEntries(
        Object.entries(tidegate.workerCommands.byCommand).map(([name, n]) => [name, round(n / batches)]),
      ),
      stats: tidegate.stats,
      baselineRun: baseline.run,
      baselineRoundsSeconds: baselineRounds.map((b) => round(b.seconds)),
      environment: {
        node: process.version,
        redis: (await redisInfo(redis.client, 'server')).get('redis_version') ?? null,
        postgres: (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? null,
      },
    },
  };
}

// ---- Seeding ------------------------------------------------------------------------------------------------------

/**
 * `count` devices, fcm, apns and webpush in turn, with tokens shaped like real ones (an FCM registration token of
 * ~150 characters, a 64-hex APNs token, a Web Push endpoint URL with p256dh and auth keys), all active, in UTC. One
 * `INSERT … SELECT generate_series` per chunk; then VACUUM ANALYZE, as a table this size would have been. Not timed
 * as part of any result.
 */
async function seedDevices(ctx: BenchContext, db: BenchDatabase, count: number): Promise<number> {
  const started = Date.now();
  const p256dh = createECDH('prime256v1').generateKeys().toString('base64url');
  const auth = randomBytes(16).toString('base64url');
  ctx.log(`seeding ${count.toLocaleString('en-US')} devices`);
  for (let from = 1; from <= count; from += SEED_CHUNK) {
    ctx.signal.throwIfAborted();
    const to = Math.min(count, from + SEED_CHUNK - 1);
    await db.query(
      `INSERT INTO devices (platform, token, p256dh, auth, timezone, updated_at)
       SELECT (CASE i % 3 WHEN 1 THEN 'fcm' WHEN 2 THEN 'apns' ELSE 'webpush' END)::"Platform",
              CASE i % 3
                WHEN 1 THEN 'b' || i || ':APA91b' || md5(i::text) || md5((-i)::text) || md5((i * 7)::text) || md5((i * 13)::text)
                WHEN 2 THEN md5(i::text) || md5((-i)::text)
                ELSE 'https://fcm.googleapis.com/fcm/send/b' || i || ':APA91b' || md5(i::text) || md5((-i)::text)
              END,
              CASE WHEN i % 3 = 0 THEN $3 END,
              CASE WHEN i % 3 = 0 THEN $4 END,
              'UTC', now()
       FROM generate_series($1::bigint, $2::bigint) AS i`,
      [from, to, p256dh, auth],
    );
    if (to % 500_000 === 0 || to === count) ctx.log(`seeded ${to.toLocaleString('en-US')}`);
  }
  await db.query('VACUUM ANALYZE devices');
  const rows = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM devices WHERE active')).rows[0]?.n ?? 0);
  if (rows !== count) throw new Error(`seeded ${rows} active devices, expected ${count}`);
  const seconds = (Date.now() - started) / 1000;
  ctx.log(`seeded in ${seconds.toFixed(1)} s`);
  return seconds;
}

// ---- CPU ----------------------------------------------------------------------------------------------------------

/** What each process read (children, Redis, PostgreSQL's backends, this process) at the start of a pipeline. */
const readCpu = (redis: BenchRedis, children: Record<string, Child>) => cpuReading(redis, children, { postgres: true });

/** CPU seconds between two readings, of the processes whose time is known. */
function cpuUsed(a: CpuReading, b: CpuReading): Record<string, number> {
  return Object.fromEntries(Object.entries(cpuBetween(a, b, 'bench').cpu).filter((e): e is [string, number] => e[1] !== null));
}

/** Average cores each process kept busy. */
function cores(cpu: Record<string, number>, seconds: number): Record<string, number> {
  return Object.fromEntries(Object.entries(cpu).map(([name, s]) => [name, round(s / seconds)]));
}

/** CPU seconds per item, in µs (null when the time is unknown). */
const microsPer = (seconds: number | undefined, items: number) => (seconds === undefined ? null : round((seconds * 1e6) / items));

const roundAll = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round(v)]));

// ---- Baseline: keyset pages → raw BullMQ jobs → empty processor ---------------------------------------------------

interface PipelineRun {
  seconds: number;
  memory: RedisMemoryPeak;
  cpu: Record<string, number>;
  server: { calls: number; usec: number };
  /** Server side, per command: calls and µs (a script's time includes the commands it ran, listed on their own too). */
  byCommand: Record<string, { calls: number; usec: number }>;
}

/** The commands that took Redis the most time between two readings, per batch: calls and µs. */
function topCommands(
  before: ServerCounters,
  after: ServerCounters,
  batches: number,
  n = 8,
): Record<string, { calls: number; usec: number }> {
  const rows: Array<[string, { calls: number; usec: number }]> = [];
  for (const [name, now] of after.commands) {
    const then = before.commands.get(name) ?? { calls: 0, usec: 0 };
    if (now.calls > then.calls)
      rows.push([name, { calls: round((now.calls - then.calls) / batches), usec: round((now.usec - then.usec) / batches) }]);
  }
  return Object.fromEntries(rows.sort((a, b) => b[1].usec - a[1].usec).slice(0, n));
}

async function runBaselineRound(
  ctx: BenchContext,
  db: BenchDatabase,
  redis: BenchRedis,
  o: { recipients: number; batchSize: number; concurrency: number; timeoutSeconds: number },
  label: string,
): Promise<PipelineRun & { run: Record<string, number> }> {
  const bullPrefix = `${redis.prefix}:baseline:{bull}`;
  const child = startChild(ctx, { name: 'baseline', script: path.join(__dirname, 'servers', 'dispatch-baseline.js'), env: baseEnv() });
  await child.request(undefined, 'ready', 15_000);
  const memory = await sampleRedisMemory(redis.client);
  const server0 = await serverCounters(redis.client);
  const cpu0 = await readCpu(redis, { baseline: child });
  const reply = await abortable(
    child.request<Json & { ok: boolean; error?: string; seconds: number }>(
      {
        type: 'run',
        databaseUrl: db.url,
        redisUrl: redis.url,
        bullPrefix,
        batchSize: o.batchSize,
        concurrency: o.concurrency,
        recipients: o.recipients,
      },
      'result',
      o.timeoutSeconds * 1000,
    ),
    ctx.signal,
  );
  const cpu1 = await readCpu(redis, { baseline: child });
  const server1 = await serverCounters(redis.client);
  const peak = await memory.stop();
  if (!reply.ok) throw new Error(`the baseline failed: ${reply.error}`);
  await child.stop();
  await deleteByPattern(redis.client, `${bullPrefix}:*`);
  ctx.log(`${label}: ${reply.seconds.toFixed(2)} s, ${Math.round(o.recipients / reply.seconds)} notifications/s`);
  const { type: _type, ok: _ok, ...run } = reply;
  return {
    seconds: reply.seconds,
    memory: peak,
    cpu: cpuUsed(cpu0, cpu1),
    server: commandDelta(server0, server1),
    byCommand: topCommands(server0, server1, Math.ceil(o.recipients / o.batchSize)),
    run: roundAll(Object.fromEntries(Object.entries(run).filter((e): e is [string, number] => typeof e[1] === 'number'))),
  };
}

// ---- Tidegate: the real API and worker processes ------------------------------------------------------------------

/**
 * What the run left in Redis, by kind (`MEMORY USAGE` of every key under the prefix): BullMQ's (jobs kept after
 * completion, queue structures), the campaign's (ledger bitmaps, stats hash), the rest (rate buckets, settings).
 */
async function memoryByKind(redis: BenchRedis): Promise<Record<string, { keys: number; bytes: number }>> {
  const out: Record<string, { keys: number; bytes: number }> = {};
  for (const key of await scanKeys(redis.client, redis.keys.everything)) {
    const kind = key.includes(':{bull}:') ? 'bullmq' : key.includes(':{campaign:') ? 'campaign' : 'other';
    const bytes = Number((await redis.client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
    const entry = (out[kind] ??= { keys: 0, bytes: 0 });
    entry.keys++;
    entry.bytes += bytes;
  }
  return out;
}

interface TidegateRun extends PipelineRun {
  workerCommands: { total: number; byCommand: Record<string, number> };
  firstWaveMs: number | null;
  waves: number;
  keysAfter: Record<string, { keys: number; bytes: number }>;
  stats: Json;
}

function startScheduler(
  ctx: BenchContext,
  role: 'api' | 'worker',
  port: number,
  env: Record<string, string>,
  execArgv: string[] = [],
): RunningApp {
  return startApp(ctx, {
    app: 'scheduler',
    name: `scheduler ${role}`,
    port,
    args: [`--role=${role}`],
    // The counter also stops the app when this process dies (its IPC channel closes).
    execArgv: [...execArgv, '--require', benchServer('redis-counter.js')],
    env: { WAVE_TICKET_SECRET: randomBytes(32).toString('base64url'), ...env },
  });
}

async function runTidegate(
  ctx: BenchContext,
  db: BenchDatabase,
  redis: BenchRedis,
  o: { recipients: number; batchSize: number; waveSize: number; concurrency: number; timeoutSeconds: number; profileDir?: string },
): Promise<TidegateRun> {
  const key = generateApiKey().key;
  const [apiPort, workerPort] = await Promise.all([freePort(), freePort()]);
  const env = appEnv(db, redis);
  const profile = cpuProfileArgs(ctx, 'worker', o.profileDir);
  const api = startScheduler(ctx, 'api', apiPort, { ...env, BOOTSTRAP_API_KEY: key, DATABASE_POOL_SIZE: '4' });
  const worker = startScheduler(ctx, 'worker', workerPort, { ...env, PUSH_SINK: 'true', SEND_CONCURRENCY: String(o.concurrency) }, profile);
  await Promise.all([waitReady(ctx, api, 60_000), waitReady(ctx, worker, 60_000)]);

  const call = async (method: string, route: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${api.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) {
      throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 500)}; the API's last output:\n${api.child.output()}`);
    }
    return JSON.parse(text) as Json;
  };

  // No rate limit anywhere: the system's (FCM's default quota is 600,000/min) and the campaign's.
  await call('PATCH', '/admin/dispatch/settings', {
    rate_limits: { global: null, per_provider: { fcm: null, apns: null, webpush: null } },
    reason: 'dispatch benchmark: no rate limit',
  });
  const created = await call('POST', '/admin/campaigns', {
    name: 'Dispatch benchmark',
    message: { title: 'Spring sale', body: 'Everything -30% until midnight', data: { sku: '42' }, deep_link: 'https://shop.example/sale' },
    audience: { segment: {} },
    wave_plan: { batch_size: o.batchSize, wave_size: o.waveSize, interval_seconds: 0, rate_limits: null },
  });
  const id = created.id as string;
  ctx.log(
    `tidegate: campaign ${id}, ${o.recipients.toLocaleString('en-US')} recipients, waves of ${o.waveSize}, batches of ${o.batchSize}, ` +
      `SEND_CONCURRENCY ${o.concurrency}`,
  );

  const counts = () => redisCounts(worker.child);
  const memory = await sampleRedisMemory(redis.client);
  const server0 = await serverCounters(redis.client);
  const commands0 = await counts();
  const cpu0 = await readCpu(redis, { worker: worker.child, api: api.child });
  const startedAt = Date.now();
  const started = performance.now();
  await call('POST', `/admin/campaigns/${id}/start`, { reason: 'dispatch benchmark' });

  let campaign: Json;
  const deadline = started + o.timeoutSeconds * 1000;
  let lastLog = started;
  for (;;) {
    await abortable(sleep(POLL_MS), ctx.signal);
    for (const app of [api, worker]) {
      if (app.child.process.exitCode !== null || app.child.process.signalCode !== null) {
        throw new Error(`${app.child.name} exited during the campaign; its last output:\n${app.child.output()}`);
      }
    }
    campaign = await call('GET', `/admin/campaigns/${id}`);
    if (campaign.status === 'completed') break;
    if (campaign.status !== 'running') {
      throw new Error(
        `the campaign is ${String(campaign.status)} (${String(campaign.status_reason)}); worker output:\n${worker.child.output()}`,
      );
    }
    const now = performance.now();
    if (now > deadline) {
      throw new Error(
        `the campaign did not complete within ${o.timeoutSeconds} s: ${JSON.stringify(campaign.stats)}; worker output:\n${worker.child.output()}`,
      );
    }
    if (now - lastLog > 10_000) {
      lastLog = now;
      const stats = campaign.stats as { sent?: number } | undefined;
      ctx.log(`tidegate: ${Math.round((now - started) / 1000)} s, ${stats?.sent ?? 0} sent`);
    }
  }
  const observedSeconds = (performance.now() - started) / 1000;
  const cpu1 = await readCpu(redis, { worker: worker.child, api: api.child });
  const commands1 = await counts();
  const server1 = await serverCounters(redis.client);
  const peak = await memory.stop();

  // The end: when the worker moved the campaign to completed (updated_at, this machine's clock), not when we saw it.
  const completedAt = Date.parse(String(campaign.updated_at));
  const exact = Number.isFinite(completedAt) && completedAt > startedAt && completedAt <= startedAt + observedSeconds * 1000 + 50;
  const seconds = exact ? (completedAt - startedAt) / 1000 : observedSeconds;
  if (!exact) ctx.log(`tidegate: updated_at ${String(campaign.updated_at)} is not usable as the end; using the time observed`);

  // Everything sent, exactly: live counters in Redis, then the final flush in PostgreSQL.
  const live = await call('GET', `/admin/campaigns/${id}/stats`);
  const problems: string[] = [];
  for (const [field, want] of [
    ['targeted', o.recipients],
    ['sent', o.recipients],
    ['failed', 0],
    ['invalid', 0],
    ['inactive', 0],
    ['skipped', 0],
  ] as const) {
    if (live[field] !== want) problems.push(`${field} ${String(live[field])} (expected ${want})`);
  }
  if (problems.length > 0) throw new Error(`the campaign completed but did not send everything: ${problems.join(', ')}`);
  let flushed: { sent: number; targeted: number } | undefined;
  await waitFor(
    async () => {
      const row = (
        await db.query<{ sent: number; targeted: number }>('SELECT sent, targeted FROM campaign_stats WHERE campaign_id = $1', [id])
      ).rows[0];
      flushed = row;
      return row?.sent === o.recipients;
    },
    15_000,
    'campaign_stats to show every recipient sent',
    ctx.signal,
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}: ${JSON.stringify(flushed)}`);
  });

  const waves = (live.waves as Array<{ started_at: string | null }> | undefined) ?? [];
  const firstWave = waves[0]?.started_at ? Date.parse(waves[0].started_at) - startedAt : null;
  await Promise.all([api.child.stop(), worker.child.stop(30_000)]);
  ctx.log(`tidegate: ${seconds.toFixed(2)} s, ${Math.round(o.recipients / seconds)} notifications/s`);
  const keysAfter = await memoryByKind(redis);
  // The layout the campaign was pinned to (`<n>/<block>`, or `<n>` for one partition; libs/redis dispatch-merge.ts).
  const partitions = await redis.client.hget(redis.keys.campaign(id).stats, 'partitions');

  const names = scriptNames(ctx.root);
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [label, n] of Object.entries(commands1)) {
    const d = n - (commands0[label] ?? 0);
    if (d <= 0) continue;
    const name = names.get(label) ?? label;
    byCommand[name] = (byCommand[name] ?? 0) + d;
    total += d;
  }
  return {
    seconds,
    memory: peak,
    cpu: cpuUsed(cpu0, cpu1),
    server: commandDelta(server0, server1),
    byCommand: topCommands(server0, server1, Math.ceil(o.recipients / o.batchSize)),
    workerCommands: { total, byCommand },
    firstWaveMs: firstWave,
    waves: waves.length,
    keysAfter,
    stats: {
      partitions,
      targeted: live.targeted,
      sent: live.sent,
      failed: live.failed,
      flushedSent: flushed?.sent ?? null,
      observedSeconds: round(observedSeconds),
      endFrom: exact ? 'updated_at' : 'observed',
    },
  };
}

// ---- FCM: the adapter vs a raw HTTP/2 client, against the fake ----------------------------------------------------

interface FcmResult {
  value: number;
  baseline: number;
  ratio: number;
  unit: 'notifications/s';
  messages: number;
  rounds: Array<{ adapter: number; raw: number }>;
  clientCpuMicrosecondsPerMessage: number;
  baselineClientCpuMicrosecondsPerMessage: number;
  fakeCpuMicrosecondsPerMessage: number;
  batchSize: number;
  streams: number;
  fake: Json;
}

/** An access token from the fake's token endpoint, the way Google's is obtained: a signed assertion, exchanged once. */
async function accessToken(account: ServiceAccount): Promise<string> {
  const key = await importPKCS8(account.private_key, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope: 'https://www.googleapis.com/auth/firebase.messaging' })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(account.private_key_id && { kid: account.private_key_id }) })
    .setIssuer(account.client_email)
    .setAudience(account.token_uri)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key);
  const res = await fetch(account.token_uri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`the fake's token endpoint answered ${res.status}`);
  return body.access_token;
}

/**
 * The raw client: one HTTP/2 session, at most `streams` requests in flight, each a POST with the adapter's headers
 * and body (`body(i)`), the answer read to its end. Returns how many were answered 200.
 */
async function rawSend(
  session: http2.ClientHttp2Session,
  path: string,
  token: string,
  total: number,
  streams: number,
  body: (i: number) => string,
) {
  let next = 0;
  let ok = 0;
  const headers = {
    ':method': 'POST',
    ':path': path,
    authorization: `Bearer ${token}`,
    'content-type': 'application/json; charset=UTF-8',
  };
  const one = (payload: string) =>
    new Promise<number>((resolve, reject) => {
      const stream = session.request(headers);
      let status = 0;
      const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 10_000);
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', () => undefined);
      stream.on('end', () => {
        clearTimeout(timer);
        resolve(status);
      });
      stream.on('error', (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
      stream.on('close', () => {
        clearTimeout(timer);
        resolve(status);
      });
      stream.end(payload);
    });
  const lane = async () => {
    while (next < total) {
      const i = next++;
      if ((await one(body(i))) === 200) ok++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(streams, total) }, lane));
  return ok;
}

/**
 * A V8 CPU profile of this process while `fn` runs, written to `file` (the FCM clients run here, not in a child).
 * Without a file, just `fn`.
 */
async function profiled<T>(file: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (file === undefined) return fn();
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  try {
    await post('Profiler.enable');
    await post('Profiler.start');
    const result = await fn();
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}

async function runFcm(ctx: BenchContext, messages: number, rounds: number, profileDir?: string): Promise<FcmResult> {
  const fake = startChild(ctx, { name: 'fake fcm', script: path.join(__dirname, 'servers', 'fake-fcm.js'), env: baseEnv() });
  const { endpoint, serviceAccount } = await fake.request<{ endpoint: string; serviceAccount: ServiceAccount }>(
    undefined,
    'listening',
    30_000,
  );
  ctx.log(`fcm: ${messages.toLocaleString('en-US')} messages per client and round, ${rounds} rounds, fake at ${endpoint}`);

  const payload: NotificationPayload = {
    title: 'Spring sale',
    body: 'Everything -30% until midnight',
    data: { sku: '42' },
    deepLink: 'https://shop.example/sale',
  };
  // Registration tokens shaped like FCM's (~150 characters), one per message, and wave tickets shaped like the
  // scheduler's (w2: 78 characters), one per message: a campaign's batch shares its payload, each push its ticket.
  const tokens = Array.from({ length: messages }, (_, i) => `b${i}:APA91b${randomBytes(64).toString('base64url').slice(0, 140)}`);
  const tickets = Array.from({ length: messages }, () => `w2.${randomBytes(56).toString('base64url').slice(0, 75)}`);
  const batches: PushMessage[][] = [];
  for (let i = 0; i < messages; i += FCM_BATCH) {
    batches.push(
      tokens.slice(i, i + FCM_BATCH).map((token, j) => ({
        deviceId: String(i + j + 1),
        target: { platform: 'fcm', token },
        payload,
        ticket: tickets[i + j] as string,
      })),
    );
  }

  const provider = new FcmProvider({ serviceAccount, endpoint, maxConcurrency: FCM_STREAMS });
  ctx.defer(() => provider.close());
  const sendAdapter = async (list: PushMessage[][]) => {
    let sent = 0;
    for (const batch of list) {
      ctx.signal.throwIfAborted();
      for (const r of await provider.send(batch)) if (r.outcome === 'sent') sent++;
    }
    return sent;
  };

  // The raw client's requests: the request for the payload with a placeholder ticket, written once, and the token and
  // the ticket put in per request (the same bytes the adapter sends).
  const placeholder = 'T'.repeat(75);
  const template = JSON.stringify(fcmRequest(payloadFor('fcm', withWaveTicket(payload, placeholder)), '', Date.now()));
  const [head = '', ...rest] = template.split('"token":""');
  const tail = rest.join('"token":""');
  const rawBody = (i: number) => `${head}"token":${JSON.stringify(tokens[i])}${tail}`.replaceAll(placeholder, tickets[i] as string);
  const sendPath = `/v1/projects/${encodeURIComponent(serviceAccount.project_id ?? '')}/messages:send`;
  const bearer = await accessToken(serviceAccount);
  const session = http2.connect(endpoint);
  session.on('error', () => undefined);
  ctx.defer(() => void session.destroy());
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  const sendRaw = (total: number) => rawSend(session, sendPath, bearer, total, FCM_STREAMS, rawBody);

  // Warm-up, not measured: the connections, the adapter's access token, the JIT.
  const warm = Math.min(FCM_WARMUP, messages);
  const warmBatches = Math.ceil(warm / FCM_BATCH);
  if ((await sendAdapter(batches.slice(0, warmBatches))) !== Math.min(messages, warmBatches * FCM_BATCH)) {
    throw new Error('fcm: the adapter failed during the warm-up');
  }
  if ((await sendRaw(warm)) !== warm) throw new Error('fcm: the raw client failed during the warm-up');

  const perRound: Array<{ adapter: number; raw: number }> = [];
  let adapterCpu = 0;
  let rawCpu = 0;
  let fakeCpu = 0;
  const fakePid = fake.process.pid ?? 0;
  for (let r = 1; r <= rounds; r++) {
    const c0 = process.cpuUsage();
    const f0 = processCpuSeconds(fakePid) ?? 0;
    const t0 = performance.now();
    // With --cpu-prof, the last round of each client is profiled (the profiler's cost is in that round's figures).
    const profile = (name: string) =>
      profileDir !== undefined && r === rounds ? path.join(profileDir, `fcm-${name}.cpuprofile`) : undefined;
    const sent = await abortable(
      profiled(profile('adapter'), () => sendAdapter(batches)),
      ctx.signal,
    );
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    if (sent !== messages) throw new Error(`fcm: the adapter sent ${sent} of ${messages}`);
    const ok = await abortable(
      profiled(profile('raw'), () => sendRaw(messages)),
      ctx.signal,
    );
    const t2 = performance.now();
    const c2 = process.cpuUsage();
    const f2 = processCpuSeconds(fakePid) ?? 0;
    if (ok !== messages) throw new Error(`fcm: the raw client got ${ok} answers 200 of ${messages}`);
    adapterCpu += (c1.user + c1.system - c0.user - c0.system) / 1e6;
    rawCpu += (c2.user + c2.system - c1.user - c1.system) / 1e6;
    fakeCpu += f2 - f0;
    perRound.push({ adapter: Math.round((messages * 1000) / (t1 - t0)), raw: Math.round((messages * 1000) / (t2 - t1)) });
    ctx.log(`fcm round ${r}/${rounds}: adapter ${perRound[r - 1]?.adapter}/s, raw ${perRound[r - 1]?.raw}/s`);
  }
  const fakeState = await fake.request<Json & { counts: { requests: number; delivered: number; rejected: number } }>(
    { type: 'counts?' },
    'counts',
  );
  const expected = 2 * warm + 2 * rounds * messages;
  if (fakeState.counts.delivered !== expected || fakeState.counts.rejected !== 0) {
    throw new Error(
      `fcm: the fake delivered ${fakeState.counts.delivered} and rejected ${fakeState.counts.rejected}, expected ${expected} and 0`,
    );
  }
  await provider.close();
  session.close();
  await fake.stop();

  const value = median(perRound.map((p) => p.adapter));
  const baseline = median(perRound.map((p) => p.raw));
  const { type: _type, ...fakeInfo } = fakeState;
  return {
    value,
    baseline,
    ratio: round(value / baseline),
    unit: 'notifications/s',
    messages,
    rounds: perRound,
    clientCpuMicrosecondsPerMessage: round((adapterCpu * 1e6) / (rounds * messages)),
    baselineClientCpuMicrosecondsPerMessage: round((rawCpu * 1e6) / (rounds * messages)),
    fakeCpuMicrosecondsPerMessage: round((fakeCpu * 1e6) / (2 * rounds * messages)),
    batchSize: FCM_BATCH,
    streams: FCM_STREAMS,
    fake: fakeInfo,
  };
}
