import { ConfigError, loadConfig } from './load-config';
import { dispatchPartitions } from './partitions';
import { schedulerEnvSchema } from './schemas';

const standalone = {
  DATABASE_URL: 'postgresql://u@127.0.0.1:5432/tidegate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  WAVE_TICKET_SECRET: 'w'.repeat(32),
};
const { REDIS_URL: _url, ...withoutUrl } = standalone;
const cluster = { ...withoutUrl, REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002' };

const partitioning = (env: Record<string, string>) => dispatchPartitions(loadConfig(schedulerEnvSchema, env));

describe('dispatchPartitions (DISPATCH_PARTITIONS)', () => {
  it('unset: one partition per campaign on a single Redis server, twelve on a Cluster; twelve send queues on both', () => {
    expect(partitioning(standalone)).toEqual({ campaign: 1, queues: 12 });
    // Empty counts as unset (a .env file's `DISPATCH_PARTITIONS=`).
    expect(partitioning({ ...standalone, DISPATCH_PARTITIONS: '' })).toEqual({ campaign: 1, queues: 12 });
    expect(partitioning(cluster)).toEqual({ campaign: 12, queues: 12 });
  });

  it('set: that many partitions and send queues, whatever the Redis', () => {
    expect(partitioning({ ...standalone, DISPATCH_PARTITIONS: '12' })).toEqual({ campaign: 12, queues: 12 });
    expect(partitioning({ ...standalone, DISPATCH_PARTITIONS: '1' })).toEqual({ campaign: 1, queues: 1 });
    expect(partitioning({ ...cluster, DISPATCH_PARTITIONS: '6' })).toEqual({ campaign: 6, queues: 6 });
  });

  it.each(['0', '257', '2.5', 'twelve'])('refuses DISPATCH_PARTITIONS=%s, naming it', (value) => {
    expect(() => loadConfig(schedulerEnvSchema, { ...standalone, DISPATCH_PARTITIONS: value })).toThrow(ConfigError);
    expect(() => loadConfig(schedulerEnvSchema, { ...standalone, DISPATCH_PARTITIONS: value })).toThrow(/DISPATCH_PARTITIONS: /);
  });
});
