/**
 * Tidegate's own apps as child processes of a benchmark (`dist/apps/<app>/src/main.js`, so `npm run build` first),
 * configured as deployed, and the small servers under bench/servers that say on which port they listen.
 */
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { baseEnv, startChild, waitFor, type Child } from './processes';
import type { BenchDatabase, BenchRedis } from './services';
import type { BenchContext } from './types';

export interface RunningApp {
  child: Child;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /**
   * Where its /metrics is: the scheduler's url; the gateway's and ws app's internal listener when it was started with
   * an `internalPort` (undefined otherwise).
   */
  metricsUrl?: string;
}

export type AppName = 'gateway' | 'ws' | 'scheduler';

const PORT_VARIABLE: Record<AppName, string> = { gateway: 'GATEWAY_PORT', ws: 'WS_PORT', scheduler: 'SCHEDULER_PORT' };
/** The internal listener (/metrics, /docs) of the public-facing apps; the scheduler serves them on its own port. */
const INTERNAL_PORT_VARIABLE: Partial<Record<AppName, string>> = { gateway: 'GATEWAY_INTERNAL_PORT', ws: 'WS_INTERNAL_PORT' };

/** What every app gets: production mode, quiet logs, loopback only, the benchmark's database and Redis prefix. */
export function appEnv(db: BenchDatabase, redis: BenchRedis): Record<string, string> {
  return {
    ...baseEnv(),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
  };
}

/** A fresh ES256 key (PKCS#8 PEM) for ADMISSION_SIGNING_KEY. */
export function signingKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** `--cpu-prof` flags writing a V8 CPU profile of `what` into `dir` (none without a dir). */
export function cpuProfileArgs(ctx: BenchContext, what: string, dir: string | undefined): string[] {
  if (!dir) return [];
  ctx.log(`${what} CPU profile: ${path.resolve(dir)}`);
  return ['--cpu-prof', '--cpu-prof-dir', path.resolve(dir)];
}

/**
 * Starts an app on `port` (its port variable is set here); see waitReady. The gateway's and ws app's internal listener
 * gets `internalPort`, or any free port (then its /metrics cannot be read: pass a port to read it).
 */
export function startApp(
  ctx: BenchContext,
  o: {
    app: AppName;
    name?: string;
    port: number;
    internalPort?: number;
    env: Record<string, string>;
    args?: string[];
    execArgv?: string[];
  },
): RunningApp {
  const internalVariable = INTERNAL_PORT_VARIABLE[o.app];
  const child = startChild(ctx, {
    name: o.name ?? o.app,
    script: path.join(ctx.root, 'dist', 'apps', o.app, 'src', 'main.js'),
    ...(o.args && { args: o.args }),
    ...(o.execArgv && { execArgv: o.execArgv }),
    env: {
      ...o.env,
      [PORT_VARIABLE[o.app]]: String(o.port),
      ...(internalVariable && { [internalVariable]: String(o.internalPort ?? 0) }),
    },
  });
  const url = `http://127.0.0.1:${o.port}`;
  if (!internalVariable) return { child, url, metricsUrl: url };
  return { child, url, ...(o.internalPort !== undefined && { metricsUrl: `http://127.0.0.1:${o.internalPort}` }) };
}

/** Waits until the app answers 200 on /health/ready; fails with its last output if it exits or takes too long. */
export async function waitReady(ctx: BenchContext, app: RunningApp, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (app.child.process.exitCode !== null) throw new Error(`${app.child.name} exited with status ${app.child.process.exitCode}`);
      return fetch(`${app.url}/health/ready`).then(
        (res) => res.status === 200,
        () => false, // not listening yet
      );
    },
    timeoutMs,
    `${app.child.name} to be ready`,
    ctx.signal,
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; its last output:\n${app.child.output()}`);
  });
}

/** The compiled file of a server or preload under bench/servers. */
export const benchServer = (file: string): string => path.join(__dirname, '..', 'servers', file);

/** What a child preloaded with bench/servers/redis-counter.js has sent to Redis so far, by command (or script). */
export async function redisCounts(child: Child): Promise<Record<string, number>> {
  return (await child.request<{ counts: Record<string, number> }>({ type: 'redis-counts?' }, 'redis-counts')).counts;
}

/** A server under bench/servers that reports `{ type: 'listening', port }` once it listens. */
export async function startListeningServer(
  ctx: BenchContext,
  o: { name: string; script: string; args?: string[]; execArgv?: string[] },
): Promise<RunningApp & { port: number }> {
  const child = startChild(ctx, {
    name: o.name,
    script: benchServer(o.script),
    ...(o.args && { args: o.args }),
    ...(o.execArgv && { execArgv: o.execArgv }),
    env: baseEnv(),
  });
  const { port } = await child.request<{ port: number }>(undefined, 'listening', 10_000);
  return { child, port, url: `http://127.0.0.1:${port}` };
}
