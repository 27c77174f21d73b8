/**
 * Tidegate's apps as separate processes (the built dist/) on the fault suite's Redis Cluster: REDIS_CLUSTER_NODES
 * and no REDIS_URL, the way a Cluster deployment runs them. Resolves once the app answers /health/live.
 */
import { admissionEnv, waveTicketEnv } from '../../support/env';
import { freePort, httpStatus, spawnApp, waitFor, type AppName, type Proc } from '../../support/processes';

export type ClusterApp = Proc & { url: string };

const PORT_VARIABLE: Record<AppName, string> = { scheduler: 'SCHEDULER_PORT', gateway: 'GATEWAY_PORT', ws: 'WS_PORT' };

export async function spawnOnCluster(
  app: AppName,
  options: { databaseUrl: string; redisPrefix: string; nodes: string[]; env?: Record<string, string>; args?: string[] },
): Promise<ClusterApp> {
  const port = await freePort();
  const proc = spawnApp(
    app,
    {
      DATABASE_URL: options.databaseUrl,
      REDIS_CLUSTER_NODES: options.nodes.join(','),
      REDIS_KEY_PREFIX: options.redisPrefix,
      ...(app === 'scheduler' ? waveTicketEnv() : admissionEnv()),
      [PORT_VARIABLE[app]]: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '5',
      ...options.env,
    },
    options.args ?? [],
  );
  const url = `http://127.0.0.1:${port}`;
  // Up (answers /health/live), or given up on: it exited (a boot error), or 120 s went by on a loaded machine.
  const exited = proc.exited.then((code) => {
    throw new Error(`it exited (${code}) before answering`);
  });
  await Promise.race([
    waitFor(async () => (await httpStatus(`${url}/health/live`)) === 200, 120_000, `the ${app} on port ${port}`),
    exited,
  ]).catch((err: Error) => {
    throw new Error(`the ${app}: ${err.message}; it said: ${proc.output().slice(-2000)}`);
  });
  exited.catch(() => undefined);
  return Object.assign(proc, { url });
}

/** Still running (not exited, not killed). */
export const alive = (p: Proc): boolean => p.child.exitCode === null && p.child.signalCode === null;
