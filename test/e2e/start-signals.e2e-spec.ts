/**
 * `npm start` under a supervisor: SIGTERM or SIGINT to the `npm start` process stops every process of the stack and
 * frees every port it listened on. Runs the real `npm start` (scripts/start.sh) against this file's database and Redis
 * prefix, on free ports.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { generateApiKey } from '@tidegate/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv, testEnv } from '../support/env';
import { freePort, waitFor } from '../support/processes';

const root = path.resolve(__dirname, '../..');

/** Every process below `pid` right now (from /proc), with its command line. */
function descendants(pid: number): Map<number, string> {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found = new Map<number, string>();
  let frontier = [pid];
  for (let depth = 0; depth < 10 && frontier.length > 0; depth++) {
    frontier = [...parentOf].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    for (const child of frontier) {
      try {
        found.set(child, fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
      } catch {
        // exited meanwhile
      }
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

describe('npm start stops on a signal to its process', () => {
  let db: TestDatabase;
  const leftovers = new Set<number>();

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await db?.drop();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s to npm start stops every child and frees the ports', async (signal) => {
    const ports = {
      SCHEDULER_PORT: await freePort(),
      GATEWAY_PORT: await freePort(),
      WS_PORT: await freePort(),
      GATEWAY_INTERNAL_PORT: await freePort(),
      WS_INTERNAL_PORT: await freePort(),
      DEMO_ORIGIN_PORT: await freePort(),
    };
    const npm = spawn('npm', ['start'], {
      cwd: root,
      env: {
        ...process.env,
        ...admissionEnv(),
        DATABASE_URL: db.url,
        REDIS_URL: testEnv.redisUrl,
        REDIS_KEY_PREFIX: `test-start-${signal.toLowerCase()}`,
        BOOTSTRAP_API_KEY: generateApiKey().key,
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        NO_COLOR: '1',
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    const pid = npm.pid!;

    try {
      await waitFor(() => output.includes('Press Ctrl-C to stop everything'), 120_000, 'npm start to be ready');
    } catch (err) {
      throw new Error(`${(err as Error).message}; its output:\n${output}`, { cause: err });
    }
    const stack = descendants(pid);
    for (const child of stack.keys()) leftovers.add(child);
    expect([...stack.values()].filter((cmd) => /apps\/(scheduler|gateway|ws)\/src\/main\.js/.test(cmd))).toHaveLength(3);
    for (const port of Object.values(ports)) expect(await portFree(port)).toBe(false);

    process.kill(pid, signal);
    await waitFor(() => npm.exitCode !== null || npm.signalCode !== null, 30_000, `npm start to exit after ${signal}`).catch(
      (err: Error) => {
        throw new Error(`${err.message}; still running: ${[...descendants(pid).values()].join(' | ')}`, { cause: err });
      },
    );
    await exited;
    await waitFor(() => [...stack.keys()].every((child) => !alive(child)), 20_000, 'every child of npm start to exit').catch(
      (err: Error) => {
        throw new Error(
          `${err.message}; left behind: ${[...stack]
            .filter(([child]) => alive(child))
            .map(([, cmd]) => cmd)
            .join(' | ')}`,
          { cause: err },
        );
      },
    );
    for (const port of Object.values(ports)) expect(await portFree(port)).toBe(true);
  });
});
