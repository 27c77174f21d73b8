/**
 * `npm start` validates every app's configuration before it starts anything (Redis, PostgreSQL, migrations, the
 * seed): the variables it passes on (environment or .env) against the scheduler's, gateway's and ws app's schemas, and
 * its own (DEMO_ORIGIN_PORT). What `npm start` provides itself when unset is checked too: the admission secrets as
 * they will be passed, a database and Redis with stand-ins (they are found or started later). A bad variable stops it with one line naming each,
 * exit status 78 (EX_CONFIG), as the apps do.
 */
import {
  ConfigError,
  gatewayEnvSchema,
  loadConfig,
  schedulerEnvSchema,
  startEnvSchema,
  wsEnvSchema,
  type ConfigIssue,
  type StartConfig,
} from '@tidegate/config';
import type { z } from 'zod';

type Env = Record<string, string | undefined>;

const SCHEMAS: Array<[string, z.ZodType]> = [
  ['scheduler', schedulerEnvSchema],
  ['gateway', gatewayEnvSchema],
  ['ws', wsEnvSchema],
];

/**
 * Stand-ins for the services `npm start` provides when they are not configured (empty counts as unset, as for the
 * apps): a database and Redis are found or started later, so only their URLs' form matters here.
 */
function serviceStandIns(env: Env): Env {
  const unset = (name: string) => !env[name];
  return {
    ...(unset('DATABASE_URL') && { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/tidegate' }),
    ...(unset('REDIS_URL') && unset('REDIS_CLUSTER_NODES') && { REDIS_URL: 'redis://127.0.0.1:6379' }),
  };
}

function issuesOf(schema: z.ZodType, env: Env): ConfigIssue[] {
  try {
    loadConfig(schema, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
}

/**
 * Every bad variable across the apps and `npm start`, each once with the apps it breaks:
 * `LOG_LEVEL: <message> (scheduler, gateway, ws)`. Empty when all is well. `provided`: what `npm start` hands the apps
 * itself (the admission secrets it keeps in .data/).
 */
export function configProblems(env: Env, provided: Env = {}): string[] {
  const withStandIns = { ...env, ...provided, ...serviceStandIns(env) };
  const byProblem = new Map<string, string[]>();
  for (const [app, schema] of [...SCHEMAS, ['npm start', startEnvSchema] as [string, z.ZodType]]) {
    for (const issue of issuesOf(schema, withStandIns)) {
      const problem = `${issue.variable}: ${issue.message}`;
      byProblem.set(problem, [...(byProblem.get(problem) ?? []), app]);
    }
  }
  return [...byProblem].map(([problem, apps]) => `${problem} (${apps.join(', ')})`);
}

/** `npm start`'s own settings; or the one-line error on stderr and exit 78 when any app's configuration is bad. */
export function checkConfigOrExit(env: Env, provided: Env = {}): StartConfig {
  const problems = configProblems(env, provided);
  if (problems.length > 0) {
    process.stderr.write(`start: invalid configuration: ${problems.join('; ')}\n`);
    process.exit(78);
  }
  return loadConfig(startEnvSchema, env);
}
