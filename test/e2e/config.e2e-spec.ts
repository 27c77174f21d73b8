/** A misconfigured app must stop at boot with one line naming the variable, not crash later or hang. */
import { admissionEnv, waveTicketEnv } from '../support/env';
import { spawnApp, type AppName } from '../support/processes';

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
