/**
 * Child processes of a benchmark (servers under load run in their own process, so the load generator in this one
 * does not share their event loop). Every child is stopped when the benchmark ends, and killed if this process
 * exits any other way; children also stop themselves when their IPC channel to this process closes.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import type { BenchContext } from './types';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface Child {
  name: string;
  process: ChildProcess;
  /** The last lines the child wrote (stdout and stderr), for error messages. */
  output(): string;
  /** Sends a message and resolves with the first reply of `type` (bounded in time). */
  request<T>(message: unknown, type: string, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface ChildOptions {
  name: string;
  /** Absolute path of the JavaScript entry point. */
  script: string;
  args?: string[];
  env: Record<string, string>;
  /** Node options, e.g. `['--require', '/abs/preload.js']`. */
  execArgv?: string[];
}

const KEEP_LINES = 40;

export function startChild(ctx: BenchContext, options: ChildOptions): Child {
  ctx.signal.throwIfAborted();
  const child = fork(options.script, options.args ?? [], {
    env: options.env,
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - KEEP_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });

  const stop = async (timeoutMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([exited.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      ctx.log(`${options.name} did not stop within ${timeoutMs} ms: killing it`);
      child.kill('SIGKILL');
      await exited;
    }
  };
  ctx.defer(() => stop());

  return {
    name: options.name,
    process: child,
    output: () => lines.join('\n'),
    stop,
    request: <T>(message: unknown, type: string, timeoutMs = 5000) =>
      new Promise<T>((resolve, reject) => {
        const onMessage = (reply: unknown) => {
          if (typeof reply === 'object' && reply !== null && (reply as { type?: unknown }).type === type) {
            cleanup();
            resolve(reply as T);
          }
        };
        const onExit = () => {
          cleanup();
          reject(new Error(`${options.name} exited while waiting for ${type}:\n${lines.join('\n')}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${options.name} sent no ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        if (message !== undefined) child.send(message as object);
      }),
  };
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every 100 ms until it returns true, for at most `timeoutMs`; an error from `check` (or an abort)
 * ends the wait.
 */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The environment a child starts from: nothing of this process's configuration leaks in. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used so far, in seconds; null where /proc is not available. */
export function processCpuSeconds(pid: number): number | null {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}
