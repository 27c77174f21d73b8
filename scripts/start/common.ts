/**
 * Small helpers shared by `npm start` (scripts/start.ts) and its parts: the repository root, prefixed output,
 * free-port checks and the error type for "stop with a clear message".
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';

/** A failure whose message is meant for the user as is: printed without a stack trace. */
export class StartError extends Error {
  override name = 'StartError';
}

/** Thrown by a startup step that notices a shutdown has begun meanwhile: nothing to report. */
export class Aborted extends Error {
  override name = 'Aborted';
}

/** The repository root: the nearest folder above this file with a package.json (works from scripts/ and dist/scripts/). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Resolves with the promise's value, or with `fallback` once `ms` have passed. */
export function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const first =
      err.message
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim() ?? err.name;
    return code && !first.includes(code) ? `${first} (${code})` : first;
  }
  return String(err);
}

// ---------------------------------------------------------------------------------------------------------------
// Output: every line is prefixed with its source, `[scheduler] {...json...}`; JSON lines stay intact after it.

const COLORS = [36, 35, 33, 32, 34, 96, 95]; // cyan, magenta, yellow, green, blue, bright cyan, bright magenta
const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const PREFIX_WIDTH = '[scheduler]'.length;
const assigned = new Map<string, number>();

function prefix(name: string): string {
  const label = `[${name}]`.padEnd(PREFIX_WIDTH);
  if (!useColor) return label;
  if (!assigned.has(name)) assigned.set(name, COLORS[assigned.size % COLORS.length] ?? 36);
  return `\x1b[${assigned.get(name)}m${label}\x1b[0m`;
}

/** Writes `line` to stdout (or stderr) prefixed with `[name]`. */
export function emit(name: string, line: string, stream: 'out' | 'err' = 'out'): void {
  (stream === 'err' ? process.stderr : process.stdout).write(`${prefix(name)} ${line}\n`);
}

/** The orchestrator's own messages. */
export const log = (message: string) => {
  for (const line of message.split('\n')) emit('start', line);
};
export const warn = (message: string) => {
  for (const line of message.split('\n')) emit('start', line, 'err');
};

/** Copies a child's stream line by line, prefixed; `onLine` also sees each line (to keep the last few for errors). */
export function pipeLines(source: Readable | null, name: string, stream: 'out' | 'err', onLine?: (line: string) => void): void {
  if (!source) return;
  const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
  lines.on('line', (line) => {
    onLine?.(line);
    emit(name, line, stream);
  });
}

/** The last `size` lines seen, for error messages. */
export class Tail {
  private readonly lines: string[] = [];
  constructor(private readonly size = 15) {}
  push = (line: string): void => {
    if (line.trim() === '') return;
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  };
  /** The last `count` lines (all by default), indented. */
  text(indent = '    ', count = this.size): string {
    return this.lines
      .slice(-count)
      .map((l) => indent + l)
      .join('\n');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Ports

export type PortState = 'free' | 'in-use' | 'forbidden';

/** Whether a server could listen on host:port right now (by listening on it briefly). */
export function portState(port: number, host: string): Promise<PortState> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve('in-use');
      else if (err.code === 'EACCES') resolve('forbidden');
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

/** `preferred` if it is free on host, else a free port the OS picks. */
export async function pickPort(preferred: number, host = '127.0.0.1'): Promise<number> {
  if ((await portState(preferred, host)) === 'free') return preferred;
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The address to reach a server listening on `host` from this machine. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === 'localhost') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Whether an executable named `name` is on PATH. */
export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Loads .env from the repository root if there is one. Variables set in the environment win over the file.
 * Returns the file's path when it was loaded.
 */
export function loadDotEnv(root = repoRoot()): string | null {
  const file = path.join(root, '.env');
  if (!fs.existsSync(file)) return null;
  process.loadEnvFile(file);
  return file;
}
