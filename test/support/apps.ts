/**
 * Boots Tidegate's apps inside the test process (real Redis, real PostgreSQL, real HTTP on a loopback port),
 * exactly as their main.ts does, minus signal handling.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { gatewayEnvSchema, loadConfig, schedulerEnvSchema, wsEnvSchema, type SchedulerRole } from '@tidegate/config';
import { createHttpApp, serveInternal, type OpenApiOptions } from '@tidegate/platform';
import { GatewayModule } from '../../apps/gateway/src/gateway.module';
import { GATEWAY_OPENAPI } from '../../apps/gateway/src/openapi';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';
import { SCHEDULER_OPENAPI } from '../../apps/scheduler/src/openapi';
import { RedisIoAdapter } from '../../apps/ws/src/socket/redis-io.adapter';
import { WsModule } from '../../apps/ws/src/ws.module';
import { admissionEnv, redisEnv, waveTicketEnv } from './env';

export interface RunningApp {
  app: NestFastifyApplication;
  url: string;
  /** The gateway's and ws app's internal listener (/metrics, the gateway's /docs); the scheduler's is its url. */
  internalUrl: string;
  close(): Promise<void>;
}

export interface AppEnv {
  databaseUrl: string;
  redisPrefix: string;
  extra?: Record<string, string>;
}

function baseEnv(env: AppEnv): Record<string, string> {
  return {
    DATABASE_URL: env.databaseUrl,
    REDIS_KEY_PREFIX: env.redisPrefix,
    LOG_LEVEL: process.env.TEST_APP_LOG_LEVEL ?? 'silent',
    DATABASE_POOL_SIZE: '3',
    ...redisEnv(),
    ...waveTicketEnv(),
    ...env.extra,
  };
}

/** Listens on a free loopback port; with `internal`, starts the internal listener first, as main.ts does. */
async function listen(app: NestFastifyApplication, internal?: { openApi?: OpenApiOptions }): Promise<RunningApp> {
  const internalServer = internal && (await serveInternal(app, { host: '127.0.0.1', port: 0, ...internal }));
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  if (!address || typeof address === 'string') throw new Error('app is not listening on a TCP port');
  const url = `http://127.0.0.1:${address.port}`;
  return { app, url, internalUrl: internalServer?.url ?? url, close: () => app.close() };
}

export async function startScheduler(env: AppEnv, role: SchedulerRole = 'all'): Promise<RunningApp> {
  const config = loadConfig(schedulerEnvSchema, baseEnv(env));
  return listen(await createHttpApp(SchedulerModule.forRoot(config, role), { openApi: SCHEDULER_OPENAPI, bootLogs: false }));
}

export async function startGateway(env: AppEnv): Promise<RunningApp> {
  const config = loadConfig(gatewayEnvSchema, { ...admissionEnv(), ...baseEnv(env) });
  return listen(await createHttpApp(GatewayModule.forRoot(config), { bootLogs: false, bodyLimit: 16_384 }), { openApi: GATEWAY_OPENAPI });
}

export async function startWs(env: AppEnv): Promise<RunningApp> {
  const config = loadConfig(wsEnvSchema, { ...admissionEnv(), ...baseEnv(env) });
  const app = await createHttpApp(WsModule.forRoot(config), { bootLogs: false });
  app.useWebSocketAdapter(
    new RedisIoAdapter(
      app,
      { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES },
      config.REDIS_KEY_PREFIX,
      config.WS_CORS_ORIGINS,
    ),
  );
  return listen(app, {});
}
