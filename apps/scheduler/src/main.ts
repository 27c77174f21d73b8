import 'reflect-metadata';
import { loadConfigOrExit, schedulerEnvSchema } from '@tidegate/config';
import { createHttpApp, stopOnSignals } from '@tidegate/platform';
import { roleFromArgs } from './role';
import { SchedulerModule } from './scheduler.module';
import { SCHEDULER_OPENAPI } from './openapi';

async function main(): Promise<void> {
  const config = loadConfigOrExit('scheduler', schedulerEnvSchema);
  const role = roleFromArgs(process.argv.slice(2), config.SCHEDULER_ROLE);
  const app = await createHttpApp(SchedulerModule.forRoot(config, role), { openApi: SCHEDULER_OPENAPI, trustProxy: config.TRUST_PROXY });
  stopOnSignals(app, config.SHUTDOWN_TIMEOUT_MS);
  await app.listen(config.SCHEDULER_PORT, config.HOST);
}

main().catch((err: unknown) => {
  process.stderr.write(`scheduler: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
