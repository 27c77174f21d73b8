/**
 * Runs once before the integration and e2e tiers: builds a migrated template database that every test file
 * clones (CREATE DATABASE … TEMPLATE is far faster than migrating per file), and compiles dist/ for the tests
 * that start real app processes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { databaseUrl } from './env';

const root = path.resolve(__dirname, '../..');
let done = false;

export default function globalSetup(): void {
  if (done) return; // both tiers share this setup within one Jest run
  done = true;
  // One template per run, so runs from two checkouts on one server never drop each other's template.
  // Workers inherit the name through the environment; global-teardown drops it.
  const template = `tidegate_test_template_${randomBytes(4).toString('hex')}`;
  process.env.TIDEGATE_TEST_TEMPLATE = template;
  execFileSync(process.execPath, [path.join(root, 'tools/db.js'), 'migrate'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl(template) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  execFileSync(process.execPath, [path.join(root, 'tools/build.js')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
