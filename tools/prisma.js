#!/usr/bin/env node
// @ts-check
/**
 * Runs the Prisma CLI offline. prisma.config.ts selects the JavaScript schema engine over our driver adapter, so
 * no native engine is needed; these variables point Prisma's engine look-ups at placeholder files that are never
 * loaded, which stops the CLI from trying to download native engines it would not use.
 * Usage: node tools/prisma.js <prisma arguments…>
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const placeholders = path.join(root, 'node_modules', '.cache', 'tidegate-prisma');

function prismaEnv() {
  fs.mkdirSync(placeholders, { recursive: true });
  const queryEngine = path.join(placeholders, 'libquery_engine.placeholder');
  const schemaEngine = path.join(placeholders, 'schema-engine.placeholder');
  for (const f of [queryEngine, schemaEngine]) if (!fs.existsSync(f)) fs.writeFileSync(f, '');
  return {
    ...process.env,
    PRISMA_QUERY_ENGINE_LIBRARY: queryEngine,
    PRISMA_SCHEMA_ENGINE_BINARY: schemaEngine,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    PRISMA_SKIP_POSTINSTALL_GENERATE: '1',
    CHECKPOINT_DISABLE: '1',
  };
}

/**
 * @param {string[]} args
 * @param {{ capture?: boolean, env?: NodeJS.ProcessEnv }} [opts]
 */
function runPrisma(args, opts = {}) {
  const cli = require.resolve('prisma/build/index.js', { paths: [root] });
  return spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    env: { ...prismaEnv(), ...opts.env },
    stdio: opts.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
}

module.exports = { runPrisma, prismaEnv };

if (require.main === module) {
  const result = runPrisma(process.argv.slice(2));
  process.exit(result.status ?? 1);
}
