import { roleFromArgs, runsWorkers, servesApi } from './role';

describe('scheduler role', () => {
  it('takes --role from the command line over the configured default', () => {
    expect(roleFromArgs(['--role=worker'], 'all')).toBe('worker');
    expect(roleFromArgs([], 'api')).toBe('api');
  });

  it('refuses an unknown role', () => {
    expect(() => roleFromArgs(['--role=both'], 'all')).toThrow(/--role must be one of api, worker, all/);
  });

  it('splits duties by role', () => {
    expect([servesApi('api'), runsWorkers('api')]).toEqual([true, false]);
    expect([servesApi('worker'), runsWorkers('worker')]).toEqual([false, true]);
    expect([servesApi('all'), runsWorkers('all')]).toEqual([true, true]);
  });
});
