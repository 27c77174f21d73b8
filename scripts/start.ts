/**
 * `npm start`: the whole system with a demo, on one machine, from a fresh clone (scripts/start.sh installs and
 * builds, then runs this as dist/scripts/start.js).
 *
 *   0. validates every app's configuration (and DEMO_ORIGIN_PORT) first: a bad variable stops it here, exit 78, with
 *      one line naming it; checks the apps' ports are free; the bootstrap API key: BOOTSTRAP_API_KEY, else
 *      .data/bootstrap-api-key (made once); the demo shop (the demo room's origin) on DEMO_ORIGIN_PORT (3005)
 *   1. Redis: REDIS_URL / REDIS_CLUSTER_NODES if set, else the one on 127.0.0.1:6379 (key prefix tidegate-demo),
 *      else a redis-server started here
 *   2. PostgreSQL: DATABASE_URL if set (environment or .env), else an embedded PostgreSQL in .data/postgres
 *   3. migrations (node tools/db.js migrate) and the demo data (scripts/seed.ts)
 *   4. scheduler (--role=all), gateway and ws as child processes, their output prefixed with their names
 *   5. wait until every /health/ready answers 200, print a summary; Ctrl-C stops the apps, then Redis and PostgreSQL
 *      (those we started), and exits. If an app exits on its own, everything stops and the exit status is 1.
 *
 * Options: --check (or TIDEGATE_START_CHECK=1) stops everything once it is ready and exits 0: for CI and tests.
 * SIGINT, SIGTERM or SIGHUP to this process (or to `npm start`, which runs it in place of its shell) stops everything.
 */
import path from 'node:path';
import { appSpecs, checkPorts, spawnApp, waitUntilReady, type RunningApp } from './start/apps';
import { admissionSecrets, type AdmissionSecrets } from './start/admission-secrets';
import { startDemoOrigin } from './start/demo-origin';
import { bootstrapKey } from './start/bootstrap-key';
import { checkConfigOrExit } from './start/config-check';
import { ManagedProcess, describeExit } from './start/children';
import { Aborted, StartError, loadDotEnv, log, repoRoot, seconds, warn } from './start/common';
import { startEmbeddedPostgres } from './start/postgres';
import { redact, resolveRedis } from './start/redis';
import { summary } from './start/summary';
import { Supervisor } from './start/supervisor';
import { seedDemo } from './seed';

/** Any of these set: the workers send through real providers (else the demo uses the sink). */
const PROVIDER_VARS = ['FCM_SERVICE_ACCOUNT', 'FCM_SERVICE_ACCOUNT_FILE', 'APNS_KEY', 'VAPID_PRIVATE_KEY'];

const READY_TIMEOUT_MS = 60_000;
const USAGE = `usage: npm start [-- --check]
  --check   start everything, wait until ready, print the summary, stop everything, exit 0 (also TIDEGATE_START_CHECK=1)
Configuration comes from the environment or .env (DATABASE_URL, REDIS_URL, SCHEDULER_PORT, GATEWAY_PORT, WS_PORT,
DEMO_ORIGIN_PORT, BOOTSTRAP_API_KEY, LOG_LEVEL, HOST…); whatever is not set is provided locally. Every variable is
checked before anything starts: a bad one stops npm start with one line naming it (exit status 78).`;

function parseArgs(args: string[]): { check: boolean } {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`start: unknown option ${unknown.join(' ')}\n${USAGE}\n`);
    process.exit(2);
  }
  return { check: args.includes('--check') || process.env.TIDEGATE_START_CHECK === '1' };
}

/** Where a variable came from, for messages: the environment, or .env. */
let sourceOf: (name: string) => string = () => 'the environment';

async function run(root: string, sup: Supervisor, check: boolean, demoOriginPort: number, secrets: AdmissionSecrets): Promise<void> {
  const began = Date.now();
  const host = process.env.HOST || '127.0.0.1';
  const specs = appSpecs();
  await checkPorts(specs, host); // before anything starts, so a taken port costs nothing
  const key = bootstrapKey(root);
  const shop = sup.add(await startDemoOrigin(host, demoOriginPort));

  // 1. Redis (first: when there is none, fail before starting anything)
  const redis = await resolveRedis(root, (server) => sup.add(server), sourceOf);
  if (!redis.server) log(`Redis: using ${redis.description}`);
  sup.checkpoint();

  // 2. PostgreSQL
  let databaseUrl = process.env.DATABASE_URL;
  let postgres: string;
  if (databaseUrl) {
    postgres = `DATABASE_URL from ${sourceOf('DATABASE_URL')} (${redact(databaseUrl)})`;
    log(`PostgreSQL: using ${postgres}; unset it to get an embedded PostgreSQL`);
  } else {
    const pg = await startEmbeddedPostgres(root, (service) => sup.add(service));
    databaseUrl = pg.url;
    postgres = `embedded, ${pg.url}\n${' '.repeat(23)}(data in ${path.relative(root, pg.dataDir)}; delete it to start over)`;
  }
  sup.checkpoint();

  // 3. Schema and demo data
  await migrate(root, sup, databaseUrl);
  const demo = await seedDemo(databaseUrl, { originUrl: shop.url });
  log(`demo data: room ${demo.roomId}, campaign ${demo.campaignId}`);
  sup.checkpoint();

  // 4. Apps
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...secrets,
    WS_PUBLIC_URL:
      process.env.WS_PUBLIC_URL || `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${specs.find((s) => s.name === 'ws')?.port ?? 3002}`,
    DATABASE_URL: databaseUrl,
    ...redis.env,
    HOST: host,
    LOG_LEVEL: process.env.LOG_LEVEL || 'info',
    // Without provider credentials the demo sends to the sink: nothing leaves this machine.
    PUSH_SINK: process.env.PUSH_SINK || (PROVIDER_VARS.some((v) => process.env[v]) ? 'false' : 'true'),
  };
  delete env.BOOTSTRAP_API_KEY;
  delete env.TIDEGATE_START_CHECK;
  const apps: RunningApp[] = specs.map((spec) => {
    const appEnv = {
      ...env,
      [spec.portVar]: String(spec.port),
      ...(spec.internal && { [spec.internal.portVar]: String(spec.internal.port) }),
      ...(spec.name === 'scheduler' ? { BOOTSTRAP_API_KEY: key.key } : {}),
    };
    const app = spawnApp(root, spec, appEnv, host);
    sup.add(app.process);
    void app.process.closed.then((info) => {
      if (app.process.stopRequested || sup.isStopping) return;
      warn(`${spec.name} exited on its own (${describeExit(info)}): stopping everything`);
      void sup.shutdown(1, `Tidegate stopped because ${spec.name} exited (${describeExit(info)}); see the [${spec.name}] lines above.`);
    });
    return app;
  });

  // 5. Ready
  const keyState = await waitUntilReady(apps, key.key, READY_TIMEOUT_MS, () => sup.checkpoint());
  if (keyState === 'revoked') {
    warn(
      `the bootstrap API key (${key.source}) was revoked through the API, and stays revoked: ` +
        (key.source === 'BOOTSTRAP_API_KEY' ? 'set BOOTSTRAP_API_KEY to a new key' : 'delete .data/bootstrap-api-key to get a new one'),
    );
  }
  process.stdout.write(
    summary({
      apps,
      postgres,
      redis: redis.description,
      roomId: demo.roomId,
      demoShop: shop.url,
      campaignId: demo.campaignId,
      push:
        env.PUSH_SINK === 'true'
          ? 'the sink: nothing leaves this machine (set FCM_*, APNS_*, VAPID_* in .env to send for real)'
          : `configured in the environment (${PROVIDER_VARS.filter((v) => process.env[v]).join(', ')})`,
      apiKey: key.key,
      apiKeySource: keyState === 'revoked' ? `${key.source}; REVOKED, see the warning above` : key.source,
      readyMs: Date.now() - began,
      check,
    }),
  );
  if (check) await sup.shutdown(0, '--check passed');
}

/** Applies the migrations: node tools/db.js migrate (it creates the database if missing). */
async function migrate(root: string, sup: Supervisor, databaseUrl: string): Promise<void> {
  const began = Date.now();
  const task = sup.add(
    new ManagedProcess('migrate', process.execPath, [path.join(root, 'tools', 'db.js'), 'migrate'], {
      kind: 'task',
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl },
    }),
  );
  const info = await task.closed;
  sup.checkpoint();
  if (info.code !== 0) {
    const hint = process.env.DATABASE_URL
      ? ` (DATABASE_URL comes from ${sourceOf('DATABASE_URL')}; unset it to get an embedded PostgreSQL)`
      : '';
    throw new StartError(`migrations failed (${describeExit(info)}); see the [migrate] lines above${hint}.`);
  }
  log(`migrations applied (${seconds(Date.now() - began)})`);
}

async function main(): Promise<void> {
  const { check } = parseArgs(process.argv.slice(2));
  const root = repoRoot();
  process.chdir(root);
  const preset = new Set(Object.keys(process.env));
  sourceOf = (name) => (preset.has(name) ? 'the environment' : '.env');
  const envFile = loadDotEnv(root);
  if (envFile) log(`read ${path.relative(root, envFile)}`);
  const secrets = admissionSecrets(root); // the environment's, else kept in .data/
  const settings = checkConfigOrExit(process.env, { ...secrets }); // before anything starts

  const sup = new Supervisor();
  sup.handleSignals();
  const fail = (err: unknown) => {
    if (err instanceof Aborted || sup.isStopping) return; // a stop is under way; it exits
    const message = err instanceof StartError ? err.message : `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    void sup.shutdown(1, message);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  await run(root, sup, check, settings.DEMO_ORIGIN_PORT, secrets).catch(fail);
}

void main();
