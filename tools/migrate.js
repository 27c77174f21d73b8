// @ts-check
/**
 * Applies prisma/migrations/<name>/migration.sql in order and records them in `_prisma_migrations` exactly as
 * `prisma migrate deploy` does (same table, sha256 checksum of the file, timestamps, applied_steps_count), so the
 * Prisma CLI (`migrate status`, `migrate deploy`) sees the same history. Why our own runner for deploy: it is the
 * production path and needs nothing but `pg`; the Prisma CLI's JS engine also holds its process open for ~10 s
 * after finishing.
 *
 * Safety: one runner at a time (Prisma's advisory lock key, so a concurrent `prisma migrate deploy` waits too);
 * each migration runs in one transaction together with its history row, so a failed migration leaves nothing
 * half-applied and is reported with its error. A migration whose file changed after it was applied is refused.
 */
const nodeCrypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const pg = require('pg');

const PRISMA_ADVISORY_LOCK = 72707369;

const HISTORY_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** @param {string} dir */
function localMigrations(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'migration.sql')))
    .map((e) => {
      const sql = fs.readFileSync(path.join(dir, e.name, 'migration.sql'));
      return { name: e.name, sql: sql.toString('utf8'), checksum: nodeCrypto.createHash('sha256').update(sql).digest('hex') };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * @param {{ databaseUrl: string, migrationsDir: string, log?: (line: string) => void }} options
 * @returns {Promise<{ applied: string[] }>}
 */
async function migrate({ databaseUrl, migrationsDir, log = () => {} }) {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'tidegate-migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    await client.query(HISTORY_TABLE);
    const { rows } = await client.query(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
    );
    const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new Error(
        `migration ${failed.migration_name} failed earlier and was not resolved; fix the database, then run ` +
          `prisma migrate resolve --applied|--rolled-back ${failed.migration_name}`,
      );
    }
    const done = new Map(rows.filter((r) => r.finished_at !== null).map((r) => [r.migration_name, r.checksum]));
    const applied = [];
    for (const m of localMigrations(migrationsDir)) {
      const recorded = done.get(m.name);
      if (recorded !== undefined) {
        if (recorded !== m.checksum) throw new Error(`migration ${m.name} was changed after it was applied (checksum differs)`);
        continue;
      }
      log(`applying ${m.name}`);
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
          [nodeCrypto.randomUUID(), m.checksum, m.name],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${m.name} failed and was rolled back: ${err instanceof Error ? err.message : err}`, { cause: err });
      }
      applied.push(m.name);
    }
    return { applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]).catch(() => {});
    await client.end();
  }
}

module.exports = { migrate, localMigrations, PRISMA_ADVISORY_LOCK };
