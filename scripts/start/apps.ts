/**
 * The three Tidegate apps as child processes of `npm start`: their ports, their environment, and the wait until
 * each answers GET /health/ready with 200 (and the scheduler accepts the bootstrap API key).
 */
import http from 'node:http';
import path from 'node:path';
import { ManagedProcess } from './children';
import { StartError, connectHost, errorText, log, portState, seconds, sleep } from './common';

export interface AppSpec {
  name: 'scheduler' | 'gateway' | 'ws';
  script: string;
  args: string[];
  portVar: 'SCHEDULER_PORT' | 'GATEWAY_PORT' | 'WS_PORT';
  port: number;
  /** The gateway's and ws app's internal listener (/metrics, the gateway's /docs); the scheduler serves them itself. */
  internal?: { portVar: 'GATEWAY_INTERNAL_PORT' | 'WS_INTERNAL_PORT'; port: number };
}

export interface RunningApp {
  spec: AppSpec;
  process: ManagedProcess;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** Where /metrics (and the OpenAPI docs) are: the internal listener of the gateway and ws, the scheduler's baseUrl. */
  internalUrl: string;
}

const APPS = [
  { name: 'scheduler', script: 'dist/apps/scheduler/src/main.js', args: ['--role=all'], portVar: 'SCHEDULER_PORT', fallback: 3000 },
  {
    name: 'gateway',
    script: 'dist/apps/gateway/src/main.js',
    args: [],
    portVar: 'GATEWAY_PORT',
    fallback: 3001,
    internal: { portVar: 'GATEWAY_INTERNAL_PORT', fallback: 9464 },
  },
  {
    name: 'ws',
    script: 'dist/apps/ws/src/main.js',
    args: [],
    portVar: 'WS_PORT',
    fallback: 3002,
    internal: { portVar: 'WS_INTERNAL_PORT', fallback: 9465 },
  },
] as const;

function portOf(portVar: string, fallback: number): number {
  const raw = process.env[portVar];
  const port = raw ? Number(raw) : fallback;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StartError(`${portVar}=${raw} is not a port (1-65535)`);
  return port;
}

/**
 * The apps with their ports: SCHEDULER_PORT / GATEWAY_PORT / WS_PORT, else 3000 / 3001 / 3002, and the internal
 * listeners' GATEWAY_INTERNAL_PORT / WS_INTERNAL_PORT, else 9464 / 9465.
 */
export function appSpecs(): AppSpec[] {
  return APPS.map((app) => {
    const internal =
      'internal' in app ? { portVar: app.internal.portVar, port: portOf(app.internal.portVar, app.internal.fallback) } : undefined;
    return {
      name: app.name,
      script: app.script,
      args: [...app.args],
      portVar: app.portVar,
      port: portOf(app.portVar, app.fallback),
      ...(internal && { internal }),
    };
  });
}

/** Stops with a message naming the port if an app's port is taken (before anything else is started). */
export async function checkPorts(specs: AppSpec[], host: string): Promise<void> {
  const seen = new Map<number, string>();
  const ports = specs.flatMap((spec) => [
    { name: spec.name, portVar: spec.portVar, port: spec.port },
    ...(spec.internal ? [{ name: `${spec.name} internal`, ...spec.internal }] : []),
  ]);
  for (const spec of ports) {
    const other = seen.get(spec.port);
    if (other) throw new StartError(`${spec.name} and ${other} are both set to port ${spec.port}: give each its own (${spec.portVar}).`);
    seen.set(spec.port, spec.name);
    const state = await portState(spec.port, host);
    if (state === 'free') continue;
    const why = state === 'in-use' ? `is already in use on ${host}` : `cannot be used on ${host} (permission denied)`;
    throw new StartError(
      `port ${spec.port} (${spec.name}, ${spec.portVar}) ${why}.\n` +
        `Stop what listens there (see: ss -ltnp 'sport = :${spec.port}'), or pick another port, e.g. ${spec.portVar}=${spec.port + 100} npm start`,
    );
  }
}

export function spawnApp(root: string, spec: AppSpec, env: NodeJS.ProcessEnv, host: string): RunningApp {
  const child = new ManagedProcess(spec.name, process.execPath, [path.join(root, spec.script), ...spec.args], {
    kind: 'app',
    cwd: root,
    env,
    detached: true,
    stopTimeoutMs: 10_000,
  });
  const baseUrl = `http://${connectHost(host)}:${spec.port}`;
  const internalHost = connectHost(env.INTERNAL_HOST || '127.0.0.1');
  return { spec, process: child, baseUrl, internalUrl: spec.internal ? `http://${internalHost}:${spec.internal.port}` : baseUrl };
}

type Answer = { status: number; body: string } | { error: string };

/** GET with a deadline and no keep-alive (so no idle connection delays the apps' shutdown). */
export function get(url: string, headers: Record<string, string> = {}, timeoutMs = 2000): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ error: errorText(err) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ error: errorText(err) }));
  });
}

/** "HTTP 503: postgres down (Can't reach database server)" from a Terminus readiness answer. */
function describe(answer: Answer): string {
  if ('error' in answer) return `no answer (${answer.error})`;
  try {
    const parsed = JSON.parse(answer.body) as { error?: Record<string, { status?: string; message?: string }>; message?: string };
    const down = Object.entries(parsed.error ?? {}).map(([dep, d]) => `${dep} ${d.status ?? 'down'}${d.message ? ` (${d.message})` : ''}`);
    if (down.length > 0) return `HTTP ${answer.status}: ${down.join(', ')}`;
    if (parsed.message) return `HTTP ${answer.status}: ${parsed.message}`;
  } catch {
    // not JSON
  }
  return `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
}

/**
 * Polls every app's /health/ready until all answer 200, then the scheduler's /admin/whoami with the bootstrap key
 * (the scheduler installs the key at boot, in the background): `ok` once it is accepted, `revoked` if it was revoked
 * through the API (it stays revoked). Throws a {@link StartError} naming what is not ready, and why, after
 * `timeoutMs`. `checkpoint` throws once a stop has begun (e.g. an app exited).
 */
export async function waitUntilReady(
  apps: RunningApp[],
  apiKey: string,
  timeoutMs: number,
  checkpoint: () => void,
): Promise<'ok' | 'revoked'> {
  const began = Date.now();
  const deadline = began + timeoutMs;
  // Per app: why it is not ready yet, and whether it answered HTTP at all (if not, its output tells more).
  const pending = new Map(apps.map((app) => [app, { last: 'no answer yet', answered: false }]));
  while (pending.size > 0) {
    checkpoint();
    await Promise.all(
      [...pending.keys()].map(async (app) => {
        const answer = await get(`${app.baseUrl}/health/ready`);
        if ('status' in answer && answer.status === 200) {
          pending.delete(app);
          log(`${app.spec.name} is ready on ${app.baseUrl} (${seconds(Date.now() - began)})`);
        } else {
          pending.set(app, { last: describe(answer), answered: 'status' in answer });
        }
      }),
    );
    if (pending.size === 0) break;
    if (Date.now() >= deadline) {
      const lines = [...pending].map(([app, { last, answered }]) => {
        const output = answered ? '' : app.process.tail.text('        ', 8);
        return `  - ${app.spec.name} (${app.baseUrl}/health/ready): ${last}${output ? `\n      its last output:\n${output}` : ''}`;
      });
      throw new StartError(`not ready after ${seconds(timeoutMs)}:\n${lines.join('\n')}`);
    }
    await sleep(250);
  }

  const scheduler = apps.find((a) => a.spec.name === 'scheduler');
  if (!scheduler) return 'ok';
  for (;;) {
    checkpoint();
    const answer = await get(`${scheduler.baseUrl}/admin/whoami`, { 'X-API-Key': apiKey });
    if ('status' in answer && answer.status === 200) return 'ok';
    if ('status' in answer && answer.status === 401 && answer.body.includes('revoked')) return 'revoked';
    if (Date.now() >= deadline) {
      throw new StartError(`the scheduler does not accept the bootstrap API key after ${seconds(timeoutMs)}: ${describe(answer)}`);
    }
    await sleep(250);
  }
}
