/**
 * Writes the OpenAPI documents of the HTTP apps to openapi/<app>.json (committed, reviewed like code).
 *   node dist/scripts/openapi.js          write them
 *   node dist/scripts/openapi.js --check  exit 1 if a committed document differs from the code (CI)
 * Apps are created in Nest's preview mode: routes and metadata only, no provider is instantiated, so nothing
 * connects to Redis or PostgreSQL.
 */
import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { gatewayEnvSchema, loadConfig, schedulerEnvSchema } from '@tidegate/config';
import { buildOpenApiDocument, type OpenApiOptions } from '@tidegate/platform';
import { GatewayModule } from '../apps/gateway/src/gateway.module';
import { GATEWAY_OPENAPI } from '../apps/gateway/src/openapi';
import { SchedulerModule } from '../apps/scheduler/src/scheduler.module';
import { SCHEDULER_OPENAPI } from '../apps/scheduler/src/openapi';

const root = path.resolve(__dirname, '..', fs.existsSync(path.resolve(__dirname, '../package.json')) ? '.' : '..');
const outDir = path.join(root, 'openapi');
const placeholderEnv = {
  DATABASE_URL: 'postgresql://openapi@127.0.0.1:1/openapi',
  REDIS_URL: 'redis://127.0.0.1:1',
  LOG_LEVEL: 'silent',
  TICKET_SECRET: 'openapi-placeholder-never-used-for-anything',
  WAVE_TICKET_SECRET: 'openapi-placeholder-never-used-for-anything',
  // Valid for the schema; preview mode never signs anything with it.
  ADMISSION_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};

async function document(module: unknown, options: OpenApiOptions): Promise<string> {
  const app = await NestFactory.create(module as never, new FastifyAdapter(), { preview: true, logger: false, abortOnError: false });
  try {
    return `${JSON.stringify(buildOpenApiDocument(app, options), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const docs: Record<string, string> = {
    scheduler: await document(SchedulerModule.forRoot(loadConfig(schedulerEnvSchema, placeholderEnv), 'api'), SCHEDULER_OPENAPI),
    gateway: await document(GatewayModule.forRoot(loadConfig(gatewayEnvSchema, placeholderEnv)), GATEWAY_OPENAPI),
  };
  const stale: string[] = [];
  fs.mkdirSync(outDir, { recursive: true });
  for (const [app, json] of Object.entries(docs)) {
    const file = path.join(outDir, `${app}.json`);
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (current === json) continue;
    if (check) stale.push(path.relative(root, file));
    else fs.writeFileSync(file, json);
  }
  if (stale.length > 0) {
    process.stderr.write(`openapi: ${stale.join(', ')} out of date: run npm run openapi and commit the result\n`);
    process.exit(1);
  }
  process.stdout.write(
    check ? 'openapi: documents are up to date\n' : `openapi: wrote ${Object.keys(docs).length} documents to openapi/\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`openapi: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
