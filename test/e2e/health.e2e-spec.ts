/**
 * The three apps as real processes (dist/), each on its own port, sharing a private redis-server that the test
 * stops and starts again: readiness must follow Redis down and back up, with no restart of the apps. The gateway and
 * the ws app serve /metrics (and the gateway its OpenAPI docs) on their internal port only.
 */
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv, waveTicketEnv } from '../support/env';
import { freePort, httpStatus, spawnApp, startRedisServer, waitFor, type AppName, type Proc } from '../support/processes';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

type Ready = { status: string; error?: Record<string, { status: string; message?: string }> };

describe('health of the running apps', () => {
  let db: TestDatabase;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  /** Between the apps and PostgreSQL, so a test can make it unreachable. */
  let postgres: TcpProxy;
  /** `internal`: where /metrics (and /docs) are served; the scheduler's admin port is internal already. */
  const apps: Array<{ name: AppName; proc: Proc; url: string; internal: string }> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await startRedisServer();
    const database = new URL(db.url);
    postgres = await startTcpProxy({ host: database.hostname, port: Number(database.port || 5432) });
    const ports = {
      scheduler: await freePort(),
      gateway: await freePort(),
      gatewayInternal: await freePort(),
      ws: await freePort(),
      wsInternal: await freePort(),
    };
    const env = {
      DATABASE_URL: postgres.rewrite(db.url),
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '2',
    };
    apps.push(
      {
        name: 'scheduler',
        proc: spawnApp('scheduler', { ...env, ...waveTicketEnv(), SCHEDULER_PORT: String(ports.scheduler) }, ['--role=all']),
        url: `http://127.0.0.1:${ports.scheduler}`,
        internal: `http://127.0.0.1:${ports.scheduler}`,
      },
      {
        name: 'gateway',
        proc: spawnApp('gateway', {
          ...env,
          ...admissionEnv(),
          GATEWAY_PORT: String(ports.gateway),
          GATEWAY_INTERNAL_PORT: String(ports.gatewayInternal),
        }),
        url: `http://127.0.0.1:${ports.gateway}`,
        internal: `http://127.0.0.1:${ports.gatewayInternal}`,
      },
      {
        name: 'ws',
        proc: spawnApp('ws', {
          ...env,
          ...admissionEnv(),
          LOG_LEVEL: 'info',
          WS_PORT: String(ports.ws),
          WS_INTERNAL_PORT: String(ports.wsInternal),
        }),
        url: `http://127.0.0.1:${ports.ws}`,
        internal: `http://127.0.0.1:${ports.wsInternal}`,
      },
    );
    for (const app of apps) {
      await waitFor(async () => (await httpStatus(`${app.url}/health/ready`)) === 200, 30_000, `${app.name} to be ready`).catch(
        (err: Error) => {
          throw new Error(`${err.message}; its output:\n${app.proc.output()}`);
        },
      );
    }
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.proc.stop()));
    await redis?.stop();
    await postgres?.stop();
    await db?.drop();
  });

  it('each app answers /health/live, /health/ready and /metrics', async () => {
    for (const app of apps) {
      expect(await httpStatus(`${app.url}/health/live`)).toBe(200);
      const ready = (await (await fetch(`${app.url}/health/ready`)).json()) as Ready;
      expect(ready.status).toBe('ok');
      const metrics = await (await fetch(`${app.internal}/metrics`)).text();
      expect(metrics).toContain(`tidegate_process_cpu_user_seconds_total{app="${app.name}"}`);
    }
  });

  it('serves OpenAPI at /docs on the HTTP apps (the gateway on its internal port), with its assets and JSON', async () => {
    for (const app of apps.filter((a) => a.name !== 'ws')) {
      expect(await httpStatus(`${app.internal}/docs`)).toBe(200);
      expect(await httpStatus(`${app.internal}/docs/swagger-ui-bundle.js`)).toBe(200);
      const doc = (await (await fetch(`${app.internal}/docs/json`)).json()) as { info: { title: string }; paths: Record<string, unknown> };
      expect(doc.info.title).toBe(app.name === 'gateway' ? 'Tidegate gateway' : 'Tidegate scheduler admin API');
      expect(Object.keys(doc.paths)).toContain('/health/ready');
    }
  });

  it('answers 404 for /metrics and /docs on the public ports of the gateway and ws, and serves nothing else internally', async () => {
    for (const app of apps.filter((a) => a.name !== 'scheduler')) {
      for (const path of ['/metrics', '/docs', '/docs/json', '/docs/swagger-ui-bundle.js']) {
        expect([app.name, path, await httpStatus(`${app.url}${path}`)]).toEqual([app.name, path, 404]);
      }
      expect(await httpStatus(`${app.url}/health/ready`)).toBe(200);
      expect(await httpStatus(`${app.internal}/metrics`)).toBe(200);
      expect(await httpStatus(`${app.internal}/health/ready`)).toBe(404);
    }
    const ws = apps.find((a) => a.name === 'ws')!;
    expect(await httpStatus(`${ws.internal}/docs`)).toBe(404);
  });

  it('answers 503 naming Redis while it is down, and recovers when it is back, without a restart', async () => {
    const port = redis.port;
    await redis.stop('SIGKILL');
    for (const app of apps) {
      await waitFor(async () => (await httpStatus(`${app.url}/health/ready`)) === 503, 10_000, `${app.name} to report Redis down`);
      const body = (await (await fetch(`${app.url}/health/ready`)).json()) as Ready;
      expect(body.error?.redis?.status).toBe('down');
      expect(body.error?.redis?.message).toMatch(/Redis connection is|no answer to PING/);
      expect(body.error?.postgres).toBeUndefined();
      expect(await httpStatus(`${app.url}/health/live`)).toBe(200);
    }
    redis = await startRedisServer(port);
    for (const app of apps) {
      await waitFor(async () => (await httpStatus(`${app.url}/health/ready`)) === 200, 15_000, `${app.name} to recover`);
    }
    for (const app of apps) expect(app.proc.child.exitCode).toBeNull();
  });

  it('keeps the gateway and the ws app ready while PostgreSQL is out of reach (they admit from Redis); the scheduler says 503', async () => {
    await postgres.stop();
    const scheduler = apps.find((a) => a.name === 'scheduler')!;
    await waitFor(
      async () => (await httpStatus(`${scheduler.url}/health/ready`)) === 503,
      10_000,
      'the scheduler to report PostgreSQL down',
    );
    const body = (await (await fetch(`${scheduler.url}/health/ready`)).json()) as Ready;
    expect(body.error?.postgres?.status).toBe('down');
    for (const app of apps.filter((a) => a.name !== 'scheduler')) {
      const res = await fetch(`${app.url}/health/ready`);
      expect([app.name, res.status]).toEqual([app.name, 200]);
    }

    // A gateway that starts while PostgreSQL is out of reach knows no room yet: not ready until it has loaded them.
    const port = await freePort();
    const late = spawnApp('gateway', {
      DATABASE_URL: postgres.rewrite(db.url),
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '2',
      ...admissionEnv(),
      GATEWAY_PORT: String(port),
      GATEWAY_INTERNAL_PORT: String(await freePort()),
    });
    try {
      const url = `http://127.0.0.1:${port}/health/ready`;
      await waitFor(async () => (await httpStatus(url)) === 503, 30_000, `the late gateway to answer: ${late.output()}`);
      const notReady = (await (await fetch(url)).json()) as Ready;
      expect(notReady.error?.rooms?.message).toMatch(/rooms have not been loaded/);
      await postgres.start();
      await waitFor(async () => (await httpStatus(url)) === 200, 15_000, 'the late gateway to load the rooms');
    } finally {
      await late.stop();
    }
    await waitFor(async () => (await httpStatus(`${scheduler.url}/health/ready`)) === 200, 15_000, 'the scheduler to recover');
  });

  it('stops cleanly on SIGTERM with exit code 0', async () => {
    const ws = apps.find((a) => a.name === 'ws')!;
    expect(await ws.proc.stop('SIGTERM')).toBe(0);
    expect(ws.proc.output()).toContain('SIGTERM received: shutting down');
    expect(await httpStatus(`${ws.internal}/metrics`)).toBe(0); // the internal listener closed with the app
  });
});
