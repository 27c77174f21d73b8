/**
 * Tidegate scaled out, every app its own process (the built dist/): the scheduler api (an sre key installed by
 * BOOTSTRAP_API_KEY), two workers pointed at the push fakes, two gateways and two ws apps, all on the test Redis
 * (on the Cluster tier, REDIS_CLUSTER_NODES) under one key prefix, and one test database.
 */
import { generateApiKey } from '@tidegate/auth';
import { adminCall, type AdminAnswer } from '../../support/admin-api';
import { admissionEnv, redisEnv, waveTicketEnv } from '../../support/env';
import { freePort, httpStatus, spawnApp, waitFor, type AppName, type Proc } from '../../support/processes';
import type { PushFakes } from '../../support/push-fakes';

export type ServingProc = Proc & { url: string; name: string };

export interface ScaleOutSystem {
  api: ServingProc;
  workers: ServingProc[];
  gateways: ServingProc[];
  wsApps: ServingProc[];
  /** Calls the scheduler's admin API as sre. */
  admin(method: string, path: string, body?: unknown): Promise<AdminAnswer>;
  /** Every process's output, for a failure message. */
  output(): string;
  stop(): Promise<void>;
}

/** A bound: on the shared 2-core machine under load, an app has taken over 30 s to boot. */
const READY_MS = 90_000;

/** Spawns an app on a free port; resolves once /health/ready answers 200 (Redis and PostgreSQL reached), fails if it exits first. */
async function serve(
  app: AppName,
  name: string,
  portVariable: string,
  env: Record<string, string>,
  args: string[],
  started: ServingProc[],
): Promise<ServingProc> {
  const port = await freePort();
  const proc = Object.assign(spawnApp(app, { ...env, [portVariable]: String(port), HOST: '127.0.0.1' }, args), {
    url: `http://127.0.0.1:${port}`,
    name,
  });
  started.push(proc);
  try {
    const exited = proc.exited.then((code) => Promise.reject(new Error(`${name} exited (${code}) before it was ready`)));
    await Promise.race([
      waitFor(async () => (await httpStatus(`${proc.url}/health/ready`)) === 200, READY_MS, `${name} to be ready`),
      exited,
    ]);
  } catch (err) {
    throw new Error(`${(err as Error).message}; its output:\n${proc.output().slice(-4000)}`, { cause: err });
  }
  return proc;
}

export async function startScaleOut(options: { databaseUrl: string; redisPrefix: string; fakes: PushFakes }): Promise<ScaleOutSystem> {
  const { key } = generateApiKey();
  const base = {
    DATABASE_URL: options.databaseUrl,
    REDIS_KEY_PREFIX: options.redisPrefix,
    ...redisEnv(),
    LOG_LEVEL: process.env.TEST_APP_LOG_LEVEL ?? 'warn',
    DATABASE_POOL_SIZE: '3',
  };
  const started: ServingProc[] = [];
  const stop = async () => {
    await Promise.all(started.map((p) => p.stop()));
  };
  try {
    const wsApps = await Promise.all(
      [1, 2].map((i) =>
        serve('ws', `ws ${i}`, 'WS_PORT', { ...base, ...admissionEnv(), WS_TICK_MS: '100', WS_POSITION_INTERVAL_MS: '100' }, [], started),
      ),
    );
    const gateways = await Promise.all(
      [1, 2].map((i) =>
        serve(
          'gateway',
          `gateway ${i}`,
          'GATEWAY_PORT',
          {
            ...base,
            ...admissionEnv(),
            WS_PUBLIC_URL: (wsApps[i - 1] as ServingProc).url,
            RELEASE_INTERVAL_MS: '100',
            ROOMS_REFRESH_MS: '200',
            THROTTLE_LIMIT: '1000000',
          },
          [],
          started,
        ),
      ),
    );
    const api = await serve(
      'scheduler',
      'scheduler api',
      'SCHEDULER_PORT',
      { ...base, ...waveTicketEnv(), BOOTSTRAP_API_KEY: key },
      ['--role=api'],
      started,
    );
    const workers = await Promise.all(
      [1, 2].map((i) =>
        serve(
          'scheduler',
          `worker ${i}`,
          'SCHEDULER_PORT',
          {
            ...base,
            ...waveTicketEnv(),
            ...options.fakes.env,
            SEND_CONCURRENCY: '4',
            STATS_FLUSH_MS: '500',
            DISPATCH_TICK_MS: '1000',
            DATABASE_POOL_SIZE: '6',
          },
          ['--role=worker'],
          started,
        ),
      ),
    );
    return {
      api,
      workers,
      gateways,
      wsApps,
      admin: (method, path, body) => adminCall(api.url, key, method, path, body),
      output: () => started.map((p) => `--- ${p.name}\n${p.output().slice(-4000)}`).join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
