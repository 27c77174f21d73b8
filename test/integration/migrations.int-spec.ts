/**
 * The migrations in prisma/migrations are the only way the schema reaches a database. These tests prove that
 * applying them gives exactly what schema.prisma describes (no drift), and that `npm run db:migrate` is safe to
 * run again on a migrated database.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../../tools/migrate';
import { createTestDatabase, type TestDatabase } from '../support/database';

const root = path.resolve(__dirname, '../..');

function db(args: string[], url: string) {
  return spawnSync(process.execPath, [path.join(root, 'tools/db.js'), ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
}

/** Everything about a database's schema that matters, as sorted text lines (ignoring Prisma's own table). */
async function describeSchema(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const q = async (sql: string) => (await client.query<{ line: string }>(sql)).rows.map((r) => r.line);
    const lines = [
      ...(await q(`SELECT format('column %s.%s %s nullable=%s default=%s', table_name, column_name, udt_name, is_nullable,
                          coalesce(column_default, '')) AS line
                   FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`)),
      ...(await q(`SELECT format('index %s', indexdef) AS line FROM pg_indexes
                   WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`)),
      ...(await q(`SELECT format('constraint %s %s %s', rel.relname, con.conname, pg_get_constraintdef(con.oid)) AS line
                   FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
                   JOIN pg_namespace n ON n.oid = rel.relnamespace
                   WHERE n.nspname = 'public' AND rel.relname <> '_prisma_migrations'`)),
      ...(await q(`SELECT format('enum %s %s', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)) AS line
                   FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid GROUP BY t.typname`)),
    ];
    return lines.sort();
  } finally {
    await client.end();
  }
}

describe('database migrations', () => {
  const dbs: TestDatabase[] = [];
  afterAll(() => Promise.all(dbs.map((d) => d.drop())));

  it('produce exactly schema.prisma (Prisma replays them on a shadow database and compares)', () => {
    const scratch = 'postgresql://postgres@127.0.0.1:5432/postgres';
    const result = db(['check'], process.env.TEST_POSTGRES_URL ?? scratch);
    expect(`${result.stdout}${result.stderr}`).toContain('migrations match schema.prisma');
    expect(result.status).toBe(0);
  });

  it('a database migrated by db:migrate matches one built straight from schema.prisma', async () => {
    const migrated = await createTestDatabase(null);
    const direct = await createTestDatabase(null);
    dbs.push(migrated, direct);

    const first = db(['migrate'], migrated.url);
    expect(first.status).toBe(0);
    const again = db(['migrate'], migrated.url);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('no pending migrations');

    // The Prisma CLI reads the same history: checksums and rows are recorded as `prisma migrate deploy` would.
    const status = spawnSync(process.execPath, [path.join(root, 'tools/prisma.js'), 'migrate', 'status'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: migrated.url },
      encoding: 'utf8',
    });
    expect(status.stdout).toContain('Database schema is up to date!');

    const sql = execFileSync(
      process.execPath,
      [path.join(root, 'tools/prisma.js'), 'migrate', 'diff', '--from-empty', '--to-schema-datamodel', 'prisma/schema.prisma', '--script'],
      { cwd: root, env: { ...process.env, DATABASE_URL: direct.url }, encoding: 'utf8' },
    );
    const client = new pg.Client({ connectionString: direct.url });
    await client.connect();
    await client.query(sql);
    await client.end();

    const [a, b] = await Promise.all([describeSchema(migrated.url), describeSchema(direct.url)]);
    expect(a.length).toBeGreaterThan(20);
    expect(a).toEqual(b);
  });

  it('db:migration writes the SQL from the migrations to a changed schema.prisma, offline', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-schema-'));
    try {
      fs.cpSync(path.join(root, 'prisma/migrations'), path.join(dir, 'migrations'), { recursive: true });
      const schema = fs.readFileSync(path.join(root, 'prisma/schema.prisma'), 'utf8');
      const changed = schema.replace(/model Room \{\n/, 'model Room {\n  surgeNote String? @map("surge_note")\n');
      expect(changed).not.toBe(schema);
      fs.writeFileSync(path.join(dir, 'schema.prisma'), changed);
      const paths = ['--schema', path.join(dir, 'schema.prisma'), '--migrations', path.join(dir, 'migrations')];
      const scratch = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

      const drift = db(['check', ...paths], scratch);
      expect(drift.status).toBe(1);
      expect(drift.stderr).toContain('schema.prisma differs from the migrations');

      const made = db(['migration', 'added_surge_note', ...paths], scratch);
      expect(made.status).toBe(0);
      const created = fs.readdirSync(path.join(dir, 'migrations')).filter((d) => d.endsWith('_added_surge_note'));
      expect(created).toHaveLength(1);
      expect(created[0]).toMatch(/^\d{14}_added_surge_note$/);
      const sql = fs.readFileSync(path.join(dir, 'migrations', created[0]!, 'migration.sql'), 'utf8');
      expect(sql).toContain('ALTER TABLE "rooms" ADD COLUMN     "surge_note" TEXT');

      expect(db(['check', ...paths], scratch).status).toBe(0);
      const again = db(['migration', 'nothing_new', ...paths], scratch);
      expect(again.status).toBe(1);
      expect(again.stderr).toContain('nothing to write');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('db:migrate creates a missing database', () => {
    const name = `tidegate_test_missing_${Date.now()}`;
    const url = new URL(process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
    url.pathname = `/${name}`;
    dbs.push({ name, url: url.toString(), drop: () => dropDatabase(name) });
    const result = db(['migrate'], url.toString());
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`created database ${name}`);
  });
});

describe('migration runner (tools/migrate.js)', () => {
  const dbs: TestDatabase[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  function migrationsDir(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-migrations-'));
    dirs.push(dir);
    for (const [name, sql] of Object.entries(files)) {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
    }
    return dir;
  }

  async function scalar(url: string, sql: string): Promise<unknown> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const row = (await client.query<Record<string, unknown>>(sql)).rows[0] ?? {};
      return Object.values(row)[0];
    } finally {
      await client.end();
    }
  }

  it('applies each migration once, even when two runners start together', async () => {
    const db = await createTestDatabase(null);
    dbs.push(db);
    const dir = migrationsDir({ '001_a': 'CREATE TABLE a (id int);', '002_b': 'CREATE TABLE b (id int);' });
    const results = await Promise.all([
      migrate({ databaseUrl: db.url, migrationsDir: dir }),
      migrate({ databaseUrl: db.url, migrationsDir: dir }),
    ]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(['001_a', '002_b']);
    expect(await scalar(db.url, 'SELECT count(*)::int FROM "_prisma_migrations"')).toBe(2);
  });

  it('rolls a failing migration back whole and reports it, leaving earlier ones applied', async () => {
    const db = await createTestDatabase(null);
    dbs.push(db);
    const dir = migrationsDir({
      '001_ok': 'CREATE TABLE ok (id int);',
      '002_bad': 'CREATE TABLE half (id int);\nSELECT no_such_function();',
    });
    await expect(migrate({ databaseUrl: db.url, migrationsDir: dir })).rejects.toThrow(
      /002_bad failed and was rolled back: .*no_such_function/,
    );
    expect(await scalar(db.url, "SELECT to_regclass('public.ok') IS NOT NULL")).toBe(true);
    expect(await scalar(db.url, "SELECT to_regclass('public.half') IS NULL")).toBe(true);
    expect(await scalar(db.url, 'SELECT string_agg(migration_name, \',\') FROM "_prisma_migrations"')).toBe('001_ok');
  });

  it('refuses to go on when an applied migration file was edited afterwards', async () => {
    const db = await createTestDatabase(null);
    dbs.push(db);
    const dir = migrationsDir({ '001_a': 'CREATE TABLE a (id int);' });
    await migrate({ databaseUrl: db.url, migrationsDir: dir });
    fs.writeFileSync(path.join(dir, '001_a', 'migration.sql'), 'CREATE TABLE a (id bigint);');
    await expect(migrate({ databaseUrl: db.url, migrationsDir: dir })).rejects.toThrow(/001_a was changed after it was applied/);
  });
});

async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.end();
}
