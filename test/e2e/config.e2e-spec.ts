/** A misconfigured app must stop at boot with one line naming the variable, not crash later or hang. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { generateApiKey } from '@tidegate/auth';
import { admissionEnv, waveTicketEnv } from '../support/env';
import { freePort, spawnApp, type AppName } from '../support/processes';

const good = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('configuration errors', () => {
  it.each<AppName>(['scheduler', 'gateway', 'ws'])('%s stops with a one-line error naming REDIS_URL=not-a-url', async (app) => {
    const proc = spawnApp(app, { ...good, ...admissionEnv(), REDIS_URL: 'not-a-url' });
    expect(await proc.exited).toBe(78);
    const lines = proc.output().trim().split('\n');
    expect(lines).toEqual([`${app}: invalid configuration: REDIS_URL: must be a redis:// or rediss:// URL`]);
  });

  it('names every missing required variable', async () => {
    const proc = spawnApp('gateway', {});
    expect(await proc.exited).toBe(78);
    expect(proc.output()).toMatch(
      /^gateway: invalid configuration: DATABASE_URL: required; TICKET_SECRET: required; ADMISSION_SIGNING_KEY: required; WAVE_TICKET_SECRET: required; REDIS_URL: required \(or set REDIS_CLUSTER_NODES\)\n$/,
    );
  });

  it('refuses an unknown scheduler role from the command line', async () => {
    const proc = spawnApp('scheduler', { ...good, ...waveTicketEnv() }, ['--role=everything']);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('--role must be one of api, worker, all');
  });
});

describe('configuration errors under npm start', () => {
  /** dist/scripts/start.js (what `npm start` runs after its build) with `env`; resolves with its exit code and output. */
  async function start(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const ports = { SCHEDULER_PORT: await freePort(), GATEWAY_PORT: await freePort(), WS_PORT: await freePort() };
    const child = spawn(process.execPath, [path.resolve(__dirname, '../../dist/scripts/start.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        ...admissionEnv(),
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        BOOTSTRAP_API_KEY: generateApiKey().key,
        REDIS_URL: good.REDIS_URL,
        REDIS_KEY_PREFIX: 'test-start-config',
        // Nothing listens on port 1: were PostgreSQL reached first, the migrations would fail instead.
        DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/tidegate',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    return { code, output };
  }

  it("checks every app's variables before starting anything, and ends with one line naming the variable (exit 78)", async () => {
    const { code, output } = await start({ THROTTLE_LIMIT: '0' });
    expect(code).toBe(78);
    expect(output.trim().split('\n').pop()).toBe('start: invalid configuration: THROTTLE_LIMIT: must be > 0 (gateway)');
    expect(output).not.toMatch(/Redis|PostgreSQL|migrat|demo/);
  });

  it('names a variable once with every app it breaks, and checks DEMO_ORIGIN_PORT', async () => {
    const { code, output } = await start({ LOG_LEVEL: 'loud', DEMO_ORIGIN_PORT: 'shop' });
    expect(code).toBe(78);
    const last = output.trim().split('\n').pop();
    expect(last).toMatch(
      /^start: invalid configuration: LOG_LEVEL: [^;]+ \(scheduler, gateway, ws\); (.+; )?DEMO_ORIGIN_PORT: [^;]+ \(npm start\)$/,
    );
  });
});
