/**
 * A private redis-server on a free loopback port that a fault test may kill and start again on the same port and the
 * same data folder: with AOF (`appendonly yes`, `appendfsync everysec`, what production runs) the restart replays the
 * log; without persistence (the machine's default) it starts empty. Never the machine's shared Redis.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor, type Proc } from '../../support/processes';

export interface PrivateRedis {
  port: number;
  url: string;
  /** The data folder (the AOF lives in `<dir>/appendonlydir`). */
  dir: string;
  /** The running server's process (replaced by `start`). */
  proc(): Proc;
  /** SIGKILL: the process dies at once (no save, no fsync beyond what the OS already holds). */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder; resolves once it accepts connections (the AOF replayed). */
  start(): Promise<void>;
  /**
   * A copy of the AOF as it is now (what a machine that lost power would have kept, had it fsynced now). `restore`
   * puts it back while the server is down: the writes after the copy are lost, as `everysec` allows for ~1 s.
   */
  snapshot(): string;
  restore(snapshotDir: string): void;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

function spawnServer(port: number, dir: string, persistent: boolean): Proc {
  const persistence = persistent
    ? // Rewrites off: the AOF stays one base file plus one increment, so a copy of the folder is a consistent log.
      ['--appendonly', 'yes', '--appendfsync', 'everysec', '--auto-aof-rewrite-percentage', '0', '--aof-load-truncated', 'yes']
    : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...persistence], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function startPrivateRedis(options: { persistent: boolean }): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-fault-redis-'));
  let current = spawnServer(port, dir, options.persistent);
  const ready = async (proc: Proc) => {
    await waitFor(
      () => proc.output().includes('Ready to accept connections') || proc.child.exitCode !== null,
      30_000,
      `redis-server on ${port} to start`,
    );
    if (proc.child.exitCode !== null) throw new Error(`redis-server on ${port} exited: ${proc.output()}`);
  };
  await ready(current);
  const aofDir = path.join(dir, 'appendonlydir');
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    proc: () => current,
    kill: async () => {
      await current.stop('SIGKILL');
    },
    start: async () => {
      if (current.child.exitCode === null && current.child.signalCode === null) throw new Error('redis-server is still running');
      // The port may linger a moment after the kill; retry for a few seconds.
      for (let attempt = 1; ; attempt++) {
        current = spawnServer(port, dir, options.persistent);
        try {
          await ready(current);
          return;
        } catch (err) {
          if (attempt >= 10 || !current.output().includes('Address already in use')) throw err;
          await new Promise((r) => setTimeout(r, 300));
        }
      }
    },
    snapshot: () => {
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-fault-aof-'));
      fs.cpSync(aofDir, copy, { recursive: true });
      return copy;
    },
    restore: (snapshotDir) => {
      if (current.child.exitCode === null && current.child.signalCode === null) throw new Error('restore needs redis-server down');
      fs.rmSync(aofDir, { recursive: true, force: true });
      fs.cpSync(snapshotDir, aofDir, { recursive: true });
      fs.rmSync(snapshotDir, { recursive: true, force: true });
    },
    close: async () => {
      await current.stop('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
