#!/usr/bin/env node
// @ts-check
/**
 * Database commands, offline (see tools/prisma.js and docs/database.md):
 *   node tools/db.js migrate            apply pending migrations (tools/migrate.js); creates the database if missing
 *   node tools/db.js migration <name>   write prisma/migrations/<timestamp>_<name>/migration.sql from schema.prisma
 *   node tools/db.js check              exit 1 if the migrations do not produce exactly schema.prisma (drift)
 *   node tools/db.js status             prisma migrate status
 * DATABASE_URL comes from the environment, or from .env in the project root. `--schema <file>` and
 * `--migrations <dir>` point at another schema and migrations folder (used by the tests).
 */
const fs = require('node:fs');
const path = require('node:path');
const { runPrisma } = require('./prisma');
const { migrate } = require('./migrate');

const root = path.resolve(__dirname, '..');

/** Removes `--name value` from args and returns value (or the fallback). */
function option(args, name, fallback) {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const value = args[i + 1];
  if (!value) fail(`${name} needs a value`);
  args.splice(i, 2);
  return path.resolve(value);
}

const cliArgs = process.argv.slice(2);
const migrationsDir = option(cliArgs, '--migrations', path.join(root, 'prisma', 'migrations'));
const schema = option(cliArgs, '--schema', path.join(root, 'prisma', 'schema.prisma'));

function databaseUrl() {
  if (!process.env.DATABASE_URL && fs.existsSync(path.join(root, '.env'))) process.loadEnvFile(path.join(root, '.env'));
  const url = process.env.DATABASE_URL;
  if (!url) fail('DATABASE_URL is not set (export it, or put it in .env; see .env.example)');
  return /** @type {string} */ (url);
}

/** @param {string} message @returns {never} */
function fail(message) {
  process.stderr.write(`db: ${message}\n`);
  process.exit(1);
}

/** Creates the target database when it does not exist yet, so `migrate` works on a fresh server. */
async function ensureDatabase(url) {
  const pg = require('pg');
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) fail('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  try {
    await client.connect();
  } catch (err) {
    fail(`cannot reach PostgreSQL at ${target.host}: ${err instanceof Error ? err.message : err}`);
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((err) => {
        if (err.code !== '42P04') throw err; // created meanwhile by a concurrent run
      });
      process.stdout.write(`db: created database ${name}\n`);
    }
  } finally {
    await client.end();
  }
}

function timestamp() {
  return new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function main() {
  const [command, ...rest] = cliArgs;
  switch (command) {
    case 'migrate': {
      const url = databaseUrl();
      await ensureDatabase(url);
      const { applied } = await migrate({ databaseUrl: url, migrationsDir, log: (line) => process.stdout.write(`db: ${line}\n`) });
      process.stdout.write(applied.length > 0 ? `db: applied ${applied.length} migration(s)\n` : 'db: no pending migrations\n');
      return;
    }
    case 'status': {
      const r = runPrisma(['migrate', 'status'], { env: { DATABASE_URL: databaseUrl() } });
      process.exitCode = r.status ?? 1;
      return;
    }
    case 'check': {
      await ensureDatabase(databaseUrl());
      // The JS schema engine applies every migration to a throwaway shadow database and compares the result with
      // schema.prisma; exit code 2 means they differ.
      const r = runPrisma(
        ['migrate', 'diff', '--from-migrations', migrationsDir, '--to-schema-datamodel', schema, '--script', '--exit-code'],
        { env: { DATABASE_URL: databaseUrl() }, capture: true },
      );
      if (r.status === 0) {
        process.stdout.write('db: migrations match schema.prisma\n');
        return;
      }
      if (r.status === 2) fail(`schema.prisma differs from the migrations; run npm run db:migration -- <name>:\n${r.stdout}`);
      return fail(`could not compare migrations with schema.prisma:\n${r.stdout}${r.stderr}`);
    }
    case 'migration': {
      const name = rest[0];
      if (!name || !/^[a-z0-9_]{1,80}$/.test(name)) {
        fail('usage: npm run db:migration -- <name>   (lower-case letters, digits and _, e.g. added_device_tags)');
      }
      await ensureDatabase(databaseUrl());
      const r = runPrisma(
        ['migrate', 'diff', '--from-migrations', migrationsDir, '--to-schema-datamodel', schema, '--script', '--exit-code'],
        { env: { DATABASE_URL: databaseUrl() }, capture: true },
      );
      if (r.status === 0) fail('schema.prisma matches the migrations already: nothing to write');
      if (r.status !== 2) fail(`could not compute the migration:\n${r.stdout}${r.stderr}`);
      const dir = path.join(migrationsDir, `${timestamp()}_${name}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'migration.sql'), r.stdout);
      process.stdout.write(`db: wrote ${path.relative(root, dir)}/migration.sql; review it, then npm run db:migrate\n`);
      return;
    }
    default:
      fail('usage: node tools/db.js migrate | migration <name> | check | status');
  }
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
