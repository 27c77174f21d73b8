/**
 * The cluster-dispatch benchmark (issue 11, "Dispatch spread over shards"): does one large campaign's dispatch load
 * spread over a Redis Cluster's masters?
 *
 * A private 6-node Cluster (3 masters, 3 replicas, loopback ports) and a private standalone Redis are started; the
 * real scheduler (an API process and a worker process, PUSH_SINK=true: the sink provider, no rate limit) sends a
 * campaign to every one of `--recipients` devices (default 1,000,000), first against the standalone server, then
 * against the Cluster. Measured per run: notifications/s (recipients ÷ seconds from the start request to the
 * campaign's completion, its `updated_at`), and per master the commands it executed during the run (INFO
 * commandstats, summed over commands; commands run by scripts included, INFO left out) and its CPU seconds (INFO cpu).
 * Goal: the busiest master executes at most 1.5 × the commands of the quietest.
 *
 * Options: --recipients (1000000), --partitions (DISPATCH_PARTITIONS, 12; 1 shows the layout before partitions),
 * --send-concurrency (8), --batch (500), --wave (100000), --standalone=false (skip the standalone run), --timeout
 * (seconds per run; default 1200 per million recipients, at least 120). How to read it: docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { generateApiKey } from '@tidegate/auth';
import { closeRedisClient, createRedisClient, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { abortable } from './lib/abort';
import { startApp, waitReady, type RunningApp } from './lib/apps';
import { baseEnv, freePort, sleep } from './lib/processes';
import { round } from './lib/results';
import { createBenchDatabase, type BenchDatabase } from './lib/services';
import type { BenchContext, BenchOutcome, Benchmark } from './lib/types';
import { masterCounters, startBenchCluster, type MasterCounters } from './cluster-dispatch-cluster';

const SEED_CHUNK = 100_000;
const POLL_MS = 200;
/** The goal: the busiest master's commands at most this many times the quietest's. */
const GOAL_SPREAD = 1.5;

export const benchmark: Benchmark = {
  describe:
    'campaign dispatch on a 6-node Redis Cluster: commands per master (busiest ÷ quietest, goal ≤ 1.5) and notifications/s beside a standalone Redis',
  run,
};

type Json = Record<string, unknown>;

interface RunOptions {
  recipients: number;
  batchSize: number;
  waveSize: number;
  concurrency: number;
  partitions: number;
  timeoutSeconds: number;
}

interface CampaignRun {
  seconds: number;
  /** Per master (host:port): commands executed and CPU seconds during the run. */
  perMaster: Record<string, { commands: number; cpuSeconds: number; topCommands: Record<string, number> }>;
}

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const recipients = ctx.number('recipients', 1_000_000, 1000, 10_000_000);
  const o: RunOptions = {
    recipients,
    batchSize: ctx.number('batch', 500, 1, 500),
    waveSize: ctx.number('wave', 100_000, 1, 10_000_000),
    concurrency: ctx.number('send-concurrency', 8, 1, 64),
    partitions: ctx.number('partitions', 12, 1, 256),
    timeoutSeconds: ctx.number('timeout', Math.max(120, Math.ceil((1200 * recipients) / 1_000_000)), 10, 24 * 3600),
  };
  if (![o.recipients, o.batchSize, o.waveSize, o.partitions].every(Number.isInteger)) {
    throw new Error('--recipients, --batch, --wave and --partitions must be whole numbers');
  }
  const withStandalone = ctx.options.standalone !== 'false';

  const db = await createBenchDatabase(ctx);
  await seedDevices(ctx, db, recipients);

  let standalone: CampaignRun | null = null;
  if (withStandalone) {
    const server = await startStandalone(ctx);
    standalone = await runCampaign(ctx, db, 'standalone', { REDIS_URL: server.url }, new Map([[server.address, server.client]]), o);
  }
  const cluster = await startBenchCluster(ctx);
  const clustered = await runCampaign(ctx, db, 'cluster', { REDIS_CLUSTER_NODES: cluster.nodes.join(',') }, cluster.masters, o);

  const commands = Object.values(clustered.perMaster).map((m) => m.commands);
  const spread = Math.max(...commands) / Math.max(1, Math.min(...commands));
  const value = recipients / clustered.seconds;
  const baseline = standalone ? recipients / standalone.seconds : value;
  ctx.log(
    `cluster: ${Math.round(value)} notifications/s, commands per master ${commands.join(' / ')} (busiest ÷ quietest ${spread.toFixed(2)}, goal ≤ ${GOAL_SPREAD})` +
      (standalone ? `; standalone: ${Math.round(baseline)} notifications/s` : ''),
  );
  const totalCommands = commands.reduce((a, b) => a + b, 0);
  const batches = Math.ceil(recipients / o.batchSize);
  return {
    name: 'cluster-dispatch',
    metric: 'notifications/s on a 6-node Redis Cluster',
    unit: 'notifications/s',
    value: Math.round(value),
    baseline: Math.round(baseline),
    ratio: round(value / baseline),
    params: {
      recipients,
      batchSize: o.batchSize,
      waveSize: o.waveSize,
      intervalSeconds: 0,
      sendConcurrency: o.concurrency,
      dispatchPartitions: o.partitions,
      cluster: '6 nodes on loopback: 3 masters, 3 replicas (redis-cli --cluster create)',
      provider: 'sink (PUSH_SINK=true)',
      rateLimits: 'none (system and campaign limits null)',
      baseline: withStandalone ? 'the same campaign against a private standalone Redis, same run' : 'none (--standalone=false)',
    },
    extra: {
      commandsPerMaster: Object.fromEntries(Object.entries(clustered.perMaster).map(([k, v]) => [k, v.commands])),
      busiestToQuietestMaster: round(spread),
      goalMet: spread <= GOAL_SPREAD,
      cpuSecondsPerMaster: Object.fromEntries(Object.entries(clustered.perMaster).map(([k, v]) => [k, round(v.cpuSeconds)])),
      topCommandsPerMaster: Object.fromEntries(Object.entries(clustered.perMaster).map(([k, v]) => [k, v.topCommands])),
      clusterSeconds: round(clustered.seconds),
      clusterCommandsPerBatch: round(totalCommands / batches),
      ...(standalone && {
        standaloneNotificationsPerSecond: Math.round(baseline),
        standaloneSeconds: round(standalone.seconds),
        standaloneCommandsPerBatch: round((Object.values(standalone.perMaster)[0]?.commands ?? 0) / batches),
        standaloneCpuSeconds: round(Object.values(standalone.perMaster)[0]?.cpuSeconds ?? 0),
      }),
      environment: { node: process.version },
    },
  };
}

/** `count` devices, fcm, apns and webpush in turn (as bench/dispatch.ts seeds them, shorter tokens), all active. */
async function seedDevices(ctx: BenchContext, db: BenchDatabase, count: number): Promise<void> {
  const started = Date.now();
  for (let from = 1; from <= count; from += SEED_CHUNK) {
    ctx.signal.throwIfAborted();
    const to = Math.min(count, from + SEED_CHUNK - 1);
    await db.query(
      `INSERT INTO devices (platform, token, p256dh, auth, timezone, updated_at)
       SELECT (CASE i % 3 WHEN 1 THEN 'fcm' WHEN 2 THEN 'apns' ELSE 'webpush' END)::"Platform",
              CASE i % 3 WHEN 1 THEN 'b' || i || ':APA91b' || md5(i::text) WHEN 2 THEN md5(i::text) || md5((-i)::text)
                ELSE 'https://fcm.googleapis.com/fcm/send/b' || i END,
              CASE WHEN i % 3 = 0 THEN 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM' END,
              CASE WHEN i % 3 = 0 THEN 'tBHItJI5svbpez7KI4CCXg' END,
              'UTC', now()
       FROM generate_series($1::bigint, $2::bigint) AS i`,
      [from, to],
    );
  }
  await db.query('VACUUM ANALYZE devices');
  ctx.log(`seeded ${count.toLocaleString('en-US')} devices in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** A private standalone redis-server on a free loopback port (no persistence), stopped at the end. */
async function startStandalone(ctx: BenchContext): Promise<{ url: string; address: string; client: RedisClient }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  ctx.defer(async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  });
  const url = `redis://127.0.0.1:${port}`;
  const client = createRedisClient({ url }, { name: 'bench-standalone' });
  ctx.defer(() => closeRedisClient(client));
  await waitUntilReady(client, 10_000);
  return { url, address: `127.0.0.1:${port}`, client };
}

function startScheduler(ctx: BenchContext, role: 'api' | 'worker', port: number, env: Record<string, string>): RunningApp {
  return startApp(ctx, {
    app: 'scheduler',
    name: `scheduler ${role}`,
    port,
    args: [`--role=${role}`],
    env: { WAVE_TICKET_SECRET: randomBytes(32).toString('base64url'), ...env },
  });
}

async function readMasters(masters: Map<string, RedisClient>): Promise<Map<string, MasterCounters>> {
  return new Map(await Promise.all([...masters].map(async ([name, client]) => [name, await masterCounters(client)] as const)));
}

/** One campaign to every device through the real API and worker processes on the given Redis. */
async function runCampaign(
  ctx: BenchContext,
  db: BenchDatabase,
  label: string,
  redisEnv: Record<string, string>,
  masters: Map<string, RedisClient>,
  o: RunOptions,
): Promise<CampaignRun> {
  const key = generateApiKey().key;
  const [apiPort, workerPort] = await Promise.all([freePort(), freePort()]);
  const env = {
    ...baseEnv(),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    REDIS_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    DISPATCH_PARTITIONS: String(o.partitions),
    ...redisEnv,
  };
  const api = startScheduler(ctx, 'api', apiPort, { ...env, BOOTSTRAP_API_KEY: key, DATABASE_POOL_SIZE: '4' });
  const worker = startScheduler(ctx, 'worker', workerPort, { ...env, PUSH_SINK: 'true', SEND_CONCURRENCY: String(o.concurrency) });
  await Promise.all([waitReady(ctx, api, 60_000), waitReady(ctx, worker, 60_000)]);

  const call = async (method: string, route: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${api.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 500)}`);
    return JSON.parse(text) as Json;
  };
  await call('PATCH', '/admin/dispatch/settings', {
    rate_limits: { global: null, per_provider: { fcm: null, apns: null, webpush: null } },
    reason: 'cluster-dispatch benchmark: no rate limit',
  });
  const created = await call('POST', '/admin/campaigns', {
    name: `Cluster dispatch benchmark (${label})`,
    message: { title: 'Spring sale', body: 'Everything -30% until midnight', data: { sku: '42' }, deep_link: 'https://shop.example/sale' },
    audience: { segment: {} },
    wave_plan: { batch_size: o.batchSize, wave_size: o.waveSize, interval_seconds: 0, rate_limits: null },
  });
  const id = created.id as string;
  ctx.log(`${label}: campaign ${id}, ${o.recipients.toLocaleString('en-US')} recipients, DISPATCH_PARTITIONS ${o.partitions}`);

  const before = await readMasters(masters);
  const startedAt = Date.now();
  const started = performance.now();
  await call('POST', `/admin/campaigns/${id}/start`, { reason: 'cluster-dispatch benchmark' });
  let campaign: Json;
  let lastLog = started;
  for (;;) {
    await abortable(sleep(POLL_MS), ctx.signal);
    for (const app of [api, worker]) {
      if (app.child.process.exitCode !== null) throw new Error(`${app.child.name} exited; its last output:\n${app.child.output()}`);
    }
    campaign = await call('GET', `/admin/campaigns/${id}`);
    if (campaign.status === 'completed') break;
    if (campaign.status !== 'running')
      throw new Error(`${label}: the campaign is ${String(campaign.status)} (${String(campaign.status_reason)})`);
    const now = performance.now();
    if (now - started > o.timeoutSeconds * 1000)
      throw new Error(`${label}: not completed within ${o.timeoutSeconds} s; worker:\n${worker.child.output()}`);
    if (now - lastLog > 10_000) {
      lastLog = now;
      ctx.log(
        `${label}: ${Math.round((now - started) / 1000)} s, ${Number((campaign.stats as { sent?: number } | undefined)?.sent ?? 0)} sent`,
      );
    }
  }
  const observed = (performance.now() - started) / 1000;
  const after = await readMasters(masters);
  const completedAt = Date.parse(String(campaign.updated_at));
  const seconds = Number.isFinite(completedAt) && completedAt > startedAt ? (completedAt - startedAt) / 1000 : observed;

  // Everything sent exactly once, as the live counters (merged over the partitions) say.
  const live = await call('GET', `/admin/campaigns/${id}/stats`);
  for (const [field, want] of [
    ['targeted', o.recipients],
    ['sent', o.recipients],
    ['failed', 0],
    ['inactive', 0],
  ] as const) {
    if (live[field] !== want) throw new Error(`${label}: the campaign completed with ${field} ${String(live[field])} (expected ${want})`);
  }
  await Promise.all([api.child.stop(), worker.child.stop(30_000)]);
  const perMaster: CampaignRun['perMaster'] = {};
  for (const [name, b] of before) {
    const a = after.get(name) as MasterCounters;
    const top = [...a.byCommand]
      .map(([command, n]) => [command, n - (b.byCommand.get(command) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 8);
    perMaster[name] = { commands: a.calls - b.calls, cpuSeconds: a.cpuSeconds - b.cpuSeconds, topCommands: Object.fromEntries(top) };
  }
  ctx.log(
    `${label}: ${seconds.toFixed(2)} s, ${Math.round(o.recipients / seconds)} notifications/s, commands ${JSON.stringify(perMaster)}`,
  );
  return { seconds, perMaster };
}
