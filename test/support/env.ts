import { generateKeyPairSync } from 'node:crypto';

/**
 * Where tests find their services. Defaults are the machine's own PostgreSQL and Redis on loopback;
 * `npm run test:cluster` sets TEST_REDIS_CLUSTER_NODES to run the integration tier on a Redis Cluster.
 */
export const testEnv = {
  /** A URL of the PostgreSQL server whose `postgres` database may be used to create and drop test databases. */
  postgresAdminUrl: process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  redisClusterNodes: process.env.TEST_REDIS_CLUSTER_NODES?.split(',').filter(Boolean),
};

/** The migrated template database of this run (made by global-setup). */
export function templateDatabase(): string {
  const name = process.env.TIDEGATE_TEST_TEMPLATE;
  if (!name) throw new Error('no template database: integration and e2e tests run through jest with global-setup');
  return name;
}

export function redisConnection(): { url?: string; clusterNodes?: string[] } {
  return testEnv.redisClusterNodes?.length ? { clusterNodes: testEnv.redisClusterNodes } : { url: testEnv.redisUrl };
}

/** The environment variables an app needs to reach the test Redis. */
export function redisEnv(): Record<string, string> {
  return testEnv.redisClusterNodes?.length ? { REDIS_CLUSTER_NODES: testEnv.redisClusterNodes.join(',') } : { REDIS_URL: testEnv.redisUrl };
}

let signingKey: string | undefined;

/** The wave tickets' secret of the test apps: the scheduler signs with it, the gateway checks with it. */
export const TEST_WAVE_TICKET_SECRET = 'test-wave-ticket-secret-0123456789abcdefgh';

/** What the scheduler and the gateway need for wave tickets. */
export function waveTicketEnv(): Record<string, string> {
  return { WAVE_TICKET_SECRET: TEST_WAVE_TICKET_SECRET };
}

/** What the gateway and ws apps need to issue and check tickets and admission tokens (one key per test process). */
export function admissionEnv(): Record<string, string> {
  signingKey ??= generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { TICKET_SECRET: 'test-ticket-secret-0123456789abcdefghij', ADMISSION_SIGNING_KEY: signingKey, ...waveTicketEnv() };
}

export function databaseUrl(database: string): string {
  const url = new URL(testEnv.postgresAdminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
