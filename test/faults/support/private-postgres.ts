/**
 * A private PostgreSQL cluster for a fault test that stops and starts it (never the machine's shared server on 5432):
 * Debian's binaries (/usr/lib/postgresql/<newest>/bin), a data folder in a temporary directory, a free loopback port,
 * trust authentication, fsync off (nothing here must survive the machine). PostgreSQL refuses to run as root, so when
 * the test runs as root the server runs as the `postgres` OS user (runuser).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../support/processes';

export interface PrivatePostgres {
  port: number;
  /** A URL of database `name` on this server. */
  url(name: string): string;
  /** `pg_ctl stop -m fast`: every connection is closed, new ones are refused until `start`. */
  stop(): void;
  start(): void;
  /** Stops it and removes its folder. */
  close(): void;
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL binaries in ${base} (Debian: apt-get install postgresql)`);
  return path.join(base, versions[0] as string, 'bin');
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-fault-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    fs.chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[]) => {
    const file = path.join(bin, tool);
    return asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 })
      : execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  };
  const pgCtl = (...args: string[]) => {
    try {
      run('pg_ctl', ['-D', data, '-w', '-t', '30', ...args]);
    } catch (err) {
      const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8').slice(-2000) : '';
      throw new Error(`pg_ctl ${args.join(' ')} failed: ${(err as Error).message}\n${log}`, { cause: err });
    }
  };
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const start = () => pgCtl('-l', path.join(dir, 'log'), '-o', options, 'start');
  start();
  return {
    port,
    url: (name) => `postgresql://postgres@127.0.0.1:${port}/${name}`,
    stop: () => pgCtl('-m', 'fast', 'stop'),
    start,
    close: () => {
      try {
        pgCtl('-m', 'immediate', 'stop');
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
