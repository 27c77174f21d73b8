import 'reflect-metadata';
import { loadConfigOrExit, wsEnvSchema } from '@tidegate/config';
import { createHttpApp, serveInternal, stopOnSignals } from '@tidegate/platform';
import { RedisIoAdapter } from './socket/redis-io.adapter';
import { WsModule } from './ws.module';

async function main(): Promise<void> {
  const config = loadConfigOrExit('ws', wsEnvSchema);
  const app = await createHttpApp(WsModule.forRoot(config), { trustProxy: config.TRUST_PROXY });
  app.useWebSocketAdapter(
    new RedisIoAdapter(
      app,
      { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES },
      config.REDIS_KEY_PREFIX,
      config.WS_CORS_ORIGINS,
    ),
  );
  // /metrics: on the internal port only (the public one answers 404 for it).
  await serveInternal(app, { host: config.INTERNAL_HOST, port: config.WS_INTERNAL_PORT });
  stopOnSignals(app, config.SHUTDOWN_TIMEOUT_MS);
  await app.listen(config.WS_PORT, config.HOST);
}

main().catch((err: unknown) => {
  process.stderr.write(`ws: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
