/**
 * The surge simulator, CI-sized, so it cannot rot: `dist/bench/simulate/main.js` (what `npm run simulate` runs after
 * its build) with 2,000 devices and pacing on starts the three apps as processes, registers the devices, sends the
 * campaign through the sink's forward to simulated users who wait on real sockets, and writes its result. The
 * invariants a user would notice: nobody who tapped is lost, nobody is let in out of turn, the origin never holds more
 * sessions than its capacity, and the campaign completes. (How long waits are is the 100,000-device runs' business:
 * bench/results/surge-pacing-*.json; timing is not asserted here.)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testEnv } from '../support/env';

const root = path.resolve(__dirname, '../..');
/** The run's own bound (--time-limit) plus set-up and collection; the test waits at most this long. */
const TIME_LIMIT_SECONDS = 240;

describe('surge simulator (2,000 devices, pacing on)', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-simulate-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(
    'loses nobody, keeps FIFO, never puts the origin over capacity, and completes the campaign',
    async () => {
      const out = path.join(dir, 'smoke.json');
      // One ws process and one user process: every waiting user hears of their turn from the same process, so a
      // busy CI machine cannot make two processes' ticks look like an inversion. A 20 s session leaves room for slow
      // requests between a user's pages (the session ends after that long without one).
      const args = [
        ...['--devices', '2000', '--open-rate', '0.2', '--pacing', 'on', '--out', out],
        ...['--capacity', '100', '--session', '20', '--budget', '30', '--batch', '50', '--send-rate', '6000'],
        ...['--open-median', '3', '--open-sigma', '0.6', '--user-processes', '1', '--ws-processes', '1', '--gateways', '2'],
        ...['--time-limit', String(TIME_LIMIT_SECONDS)],
      ];
      const child = spawn(process.execPath, [path.join(root, 'dist/bench/simulate/main.js'), ...args], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          BENCH_POSTGRES_URL: testEnv.postgresAdminUrl,
          BENCH_REDIS_URL: testEnv.redisUrl,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGTERM'), (TIME_LIMIT_SECONDS + 240) * 1000);
        child.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      if (code !== 0) throw new Error(`the simulator exited with ${code}:\n${output.slice(-4000)}`);

      const result = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown> & { users: Record<string, number> };
      process.stdout.write(`surge simulator smoke: ${JSON.stringify({ ...result, samples: undefined, campaign: undefined })}\n`);
      expect(result).toMatchObject({ devices: 2000, pacing: 'on', capacity: 100, completed: true, lost: 0, fifoInversions: 0 });
      expect(result.peakOriginConcurrency).toBeGreaterThan(0);
      expect(result.peakOriginConcurrency).toBeLessThanOrEqual(100);
      expect(result.users.tapped).toBeGreaterThan(200);
      expect(result.users.admitted).toBe(result.users.tapped);
      expect(result.users.errors).toBe(0);
      expect(result.users.positionIncreases).toBe(0);
      expect(fs.readFileSync(out.replace(/\.json$/, '.svg'), 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    },
    (TIME_LIMIT_SECONDS + 300) * 1000,
  );
});
