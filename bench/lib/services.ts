/**
 * The real services a benchmark runs against, on loopback only: a fresh PostgreSQL database migrated with
 * `node tools/db.js migrate` (dropped at the end), and an isolated Redis key prefix (deleted at the end).
 *
 * Where they are: BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres: a database the
 * benchmark may use to create and drop its own) and BENCH_REDIS_URL (default redis://127.0.0.1:6379).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { closeRedisClient, createRedisClient, RedisKeys, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { baseEnv } from './processes';
import type { BenchContext } from './types';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function loopbackUrl(name: string, value: string): string {
  const url = new URL(value);
  if (!LOOPBACK.has(url.hostname)) throw new Error(`${name} must point at loopback (127.0.0.1), not ${url.hostname}`);
  return value;
}

export const services = {
  postgresAdminUrl: () =>
    loopbackUrl('BENCH_POSTGRES_URL', process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'),
  redisUrl: () => loopbackUrl('BENCH_REDIS_URL', process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'),
};

export interface BenchDatabase {
  name: string;
  url: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: services.postgresAdminUrl(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function run(file: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file, ...args], { env, cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A new database `tidegate_bench_<random>`, migrated by the project's own migration runner; dropped at the end. */
export async function createBenchDatabase(ctx: BenchContext): Promise<BenchDatabase> {
  ctx.signal.throwIfAborted();
  const name = `tidegate_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(services.postgresAdminUrl());
  url.pathname = `/${name}`;
  ctx.defer(async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  });
  // tools/db.js creates the database when it is missing, then applies every migration.
  await run(path.join(ctx.root, 'tools', 'db.js'), ['migrate'], { ...baseEnv(), DATABASE_URL: url.toString() }, ctx.root, 60_000);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  ctx.defer(() => pool.end());
  return { name, url: url.toString(), query: (sql, values) => pool.query(sql, values) };
}

export interface BenchRedis {
  client: RedisClient;
  keys: RedisKeys;
  prefix: string;
  url: string;
}

/** A client on the benchmark's Redis and a key prefix `bench-<random>` of its own; its keys are deleted at the end. */
export async function createBenchRedis(ctx: BenchContext): Promise<BenchRedis> {
  ctx.signal.throwIfAborted();
  const url = services.redisUrl();
  const prefix = `bench-${randomBytes(5).toString('hex')}`;
  const client = createRedisClient({ url }, { name: 'bench', forBullmq: true });
  ctx.defer(() => closeRedisClient(client));
  await waitUntilReady(client, 10_000);
  const keys = new RedisKeys(prefix);
  ctx.defer(async () => {
    await deleteByPattern(client, keys.everything);
  });
  return { client, keys, prefix, url };
}

/** Every key matching `pattern` (SCAN, bounded by the number of keys). */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

export async function deleteByPattern(client: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  // Keys of different rooms may live in different Cluster slots: one key per DEL.
  for (const key of await scanKeys(client, pattern)) deleted += await client.del(key);
  return deleted;
}

/** `INFO <section>` as a map of field to value. */
export async function redisInfo(client: RedisClient, section: string): Promise<Map<string, string>> {
  const text = await client.info(section);
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const idx = line.indexOf(':');
    if (idx > 0 && !line.startsWith('#')) fields.set(line.slice(0, idx), line.slice(idx + 1));
  }
  return fields;
}

/** CPU time Redis has used so far (all its threads), in seconds. */
export async function redisCpuSeconds(client: RedisClient): Promise<number> {
  const cpu = await redisInfo(client, 'cpu');
  return Number(cpu.get('used_cpu_user') ?? 0) + Number(cpu.get('used_cpu_sys') ?? 0);
}

/** Server-side counters: commands processed (those run inside scripts included) and per-command calls and time. */
export interface ServerCounters {
  totalCommands: number;
  commands: Map<string, { calls: number; usec: number }>;
}

export async function serverCounters(client: RedisClient): Promise<ServerCounters> {
  const [stats, commandstats] = await Promise.all([redisInfo(client, 'stats'), redisInfo(client, 'commandstats')]);
  const commands = new Map<string, { calls: number; usec: number }>();
  for (const [field, value] of commandstats) {
    if (!field.startsWith('cmdstat_')) continue;
    const calls = /calls=(\d+)/.exec(value);
    const usec = /usec=(\d+)/.exec(value);
    commands.set(field.slice('cmdstat_'.length), { calls: Number(calls?.[1] ?? 0), usec: Number(usec?.[1] ?? 0) });
  }
  return { totalCommands: Number(stats.get('total_commands_processed') ?? 0), commands };
}

/** `after - before` for the given commands (all of them when `names` is omitted). */
export function commandDelta(before: ServerCounters, after: ServerCounters, names?: string[]): { calls: number; usec: number } {
  let calls = 0;
  let usec = 0;
  for (const [name, now] of after.commands) {
    if (names && !names.includes(name)) continue;
    const then = before.commands.get(name) ?? { calls: 0, usec: 0 };
    calls += now.calls - then.calls;
    usec += now.usec - then.usec;
  }
  return { calls, usec };
}
