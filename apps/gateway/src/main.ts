import 'reflect-metadata';
import { gatewayEnvSchema, loadConfigOrExit } from '@tidegate/config';
import { createHttpApp, serveInternal, stopOnSignals } from '@tidegate/platform';
import { GatewayModule } from './gateway.module';
import { GATEWAY_OPENAPI } from './openapi';

async function main(): Promise<void> {
  const config = loadConfigOrExit('gateway', gatewayEnvSchema);
  const app = await createHttpApp(GatewayModule.forRoot(config), { bodyLimit: 16_384, trustProxy: config.TRUST_PROXY });
  // /metrics and the OpenAPI docs: on the internal port only (the public one answers 404 for them).
  await serveInternal(app, { host: config.INTERNAL_HOST, port: config.GATEWAY_INTERNAL_PORT, openApi: GATEWAY_OPENAPI });
  stopOnSignals(app, config.SHUTDOWN_TIMEOUT_MS);
  await app.listen(config.GATEWAY_PORT, config.HOST);
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
