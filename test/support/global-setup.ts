/**
 * Runs once before the integration and e2e tiers: builds a migrated template database that every test file
 * clones (CREATE DATABASE … TEMPLATE is far faster than migrating per file), and compiles dist/ for the tests
 * that start real app processes.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { databaseUrl, testEnv } from './env';

const root = path.resolve(__dirname, '../..');
let done = false;

export default async function globalSetup(): Promise<void> {
  if (done) return; // both tiers share this setup within one Jest run
  done = true;
  const admin = new pg.Client({ connectionString: testEnv.postgresAdminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${testEnv.templateDatabase}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  execFileSync(process.execPath, [path.join(root, 'tools/db.js'), 'migrate'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl(testEnv.templateDatabase) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  execFileSync(process.execPath, [path.join(root, 'tools/build.js')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
