/** Real processes for e2e tests: the built apps (dist/) and private redis-server instances on loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

export const APP_ENTRY = {
  scheduler: 'dist/apps/scheduler/src/main.js',
  gateway: 'dist/apps/gateway/src/main.js',
  ws: 'dist/apps/ws/src/main.js',
} as const;
export type AppName = keyof typeof APP_ENTRY;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

function track(child: ChildProcess): Proc {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Starts a built app. The gateway's and ws app's internal listeners (/metrics) take a free port unless `env` names one
 * (GATEWAY_INTERNAL_PORT, WS_INTERNAL_PORT): their fixed defaults would collide between tests running at once.
 */
export function spawnApp(app: AppName, env: Record<string, string>, args: string[] = []): Proc {
  return track(
    spawn(process.execPath, [path.join(root, APP_ENTRY[app]), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', GATEWAY_INTERNAL_PORT: '0', WS_INTERNAL_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** A private redis-server on a loopback port (no persistence), for tests that stop and restart Redis. */
export async function startRedisServer(port?: number): Promise<Proc & { port: number; url: string }> {
  const p = port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-redis-'));
  const proc = track(
    spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  await waitFor(() => proc.output().includes('Ready to accept connections'), 10_000, 'redis-server to start');
  return Object.assign(proc, { port: p, url: `redis://127.0.0.1:${p}` });
}

/** Polls `check` every 100 ms until it returns true; fails after `timeoutMs` naming what was awaited. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function httpStatus(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

/**
 * The value of a Prometheus counter or gauge on an app's GET /metrics, summed over the series whose labels include
 * `labels` (0 when there is none yet).
 */
export async function metricValue(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`GET ${baseUrl}/metrics answered ${res.status}`);
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) sum += Number(match[3]);
  }
  return sum;
}
