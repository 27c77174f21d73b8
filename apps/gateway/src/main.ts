import 'reflect-metadata';
import { gatewayEnvSchema, loadConfigOrExit } from '@tidegate/config';
import { createHttpApp, stopOnSignals } from '@tidegate/platform';
import { GatewayModule } from './gateway.module';
import { GATEWAY_OPENAPI } from './openapi';

async function main(): Promise<void> {
  const config = loadConfigOrExit('gateway', gatewayEnvSchema);
  const app = await createHttpApp(GatewayModule.forRoot(config), {
    openApi: GATEWAY_OPENAPI,
    bodyLimit: 16_384,
    trustProxy: config.TRUST_PROXY,
  });
  stopOnSignals(app, config.SHUTDOWN_TIMEOUT_MS);
  await app.listen(config.GATEWAY_PORT, config.HOST);
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
