/**
 * The real system the simulator drives: the three apps started as separate processes from dist/ against the
 * machine's PostgreSQL (a database of the run's own, migrated, dropped at the end) and Redis (a key prefix of its
 * own, deleted at the end), or apps already running (`--use-running`).
 */
import { randomBytes } from 'node:crypto';
import { generateApiKey } from '@tidegate/auth';
import { appEnv, signingKeyPem, startApp, waitReady, type RunningApp } from '../lib/apps';
import { freePort } from '../lib/processes';
import { createBenchDatabase, createBenchRedis } from '../lib/services';
import type { BenchContext } from '../lib/types';
import type { SimOptions } from './options';

export interface SimSystem {
  schedulerUrl: string;
  gatewayUrls: string[];
  wsUrls: string[];
  apiKey: string;
  /** The processes this run started (none with --use-running), to watch and report. */
  apps: RunningApp[];
  /** Where it runs, for the result. */
  where: Record<string, unknown>;
}

const READY_MS = 90_000;

export async function startSystem(ctx: BenchContext, o: SimOptions, forwardUrl: string): Promise<SimSystem> {
  if (o.useRunning) {
    return {
      schedulerUrl: o.useRunning.schedulerUrl,
      gatewayUrls: o.useRunning.gatewayUrls,
      wsUrls: o.useRunning.wsUrls,
      apiKey: o.useRunning.apiKey,
      apps: [],
      where: { mode: 'use-running', forwardUrl },
    };
  }
  const [db, redis] = await Promise.all([createBenchDatabase(ctx), createBenchRedis(ctx)]);
  ctx.log(`database ${db.name}, Redis prefix ${redis.prefix}`);
  const env = appEnv(db, redis);
  const apiKey = generateApiKey().key;
  const waveSecret = randomBytes(32).toString('base64url');
  const admission = { TICKET_SECRET: randomBytes(32).toString('base64url'), ADMISSION_SIGNING_KEY: signingKeyPem() };
  const schedulerEnv = {
    ...env,
    WAVE_TICKET_SECRET: waveSecret,
    BOOTSTRAP_API_KEY: apiKey,
    PUSH_SINK: 'true',
    SINK_FORWARD_URL: forwardUrl,
    SEND_CONCURRENCY: String(o.sendConcurrency),
    DATABASE_POOL_SIZE: '6',
  };
  const apps: RunningApp[] = [];
  const wsPorts = await Promise.all(Array.from({ length: o.wsProcesses }, () => freePort()));
  const wsUrls = wsPorts.map((p) => `http://127.0.0.1:${p}`);
  for (const [i, port] of wsPorts.entries()) {
    apps.push(startApp(ctx, { app: 'ws', name: `ws ${i + 1}`, port, env: { ...env, ...admission, DATABASE_POOL_SIZE: '2' } }));
  }
  for (let i = 0; i < o.gateways; i++) {
    apps.push(
      startApp(ctx, {
        app: 'gateway',
        name: `gateway ${i + 1}`,
        port: await freePort(),
        env: {
          ...env,
          ...admission,
          WAVE_TICKET_SECRET: waveSecret,
          WS_PUBLIC_URL: wsUrls[0] as string,
          THROTTLE_LIMIT: '1000',
          DATABASE_POOL_SIZE: '3',
        },
      }),
    );
  }
  const roles = o.schedulerMode === 'all' ? ['all'] : ['api', 'worker'];
  const schedulers: RunningApp[] = [];
  for (const role of roles) {
    const app = startApp(ctx, {
      app: 'scheduler',
      name: `scheduler ${role}`,
      port: await freePort(),
      args: [`--role=${role}`],
      env: schedulerEnv,
    });
    schedulers.push(app);
    apps.push(app);
  }
  await Promise.all(apps.map((a) => waitReady(ctx, a, READY_MS)));
  const gatewayUrls = apps.filter((a) => a.child.name.startsWith('gateway')).map((a) => a.url);
  return {
    schedulerUrl: (schedulers[0] as RunningApp).url,
    gatewayUrls,
    wsUrls,
    apiKey,
    apps,
    where: { mode: 'started', database: db.name, redisPrefix: redis.prefix, processes: apps.map((a) => a.child.name) },
  };
}
