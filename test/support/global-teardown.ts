/** Drops the template database made by global-setup for this run. */
import pg from 'pg';
import { testEnv } from './env';

export default async function globalTeardown(): Promise<void> {
  const template = process.env.TIDEGATE_TEST_TEMPLATE;
  if (!template) return;
  delete process.env.TIDEGATE_TEST_TEMPLATE; // both tiers share the teardown too
  const admin = new pg.Client({ connectionString: testEnv.postgresAdminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
