/**
 * Admin API keys from the command line (npm run apikey -- …), straight in PostgreSQL: for the first key of a
 * deployment, or when no key at hand can call the API. DATABASE_URL comes from the environment or .env.
 *
 *   node dist/scripts/apikey.js create --name <name> --role <marketer|sre|viewer> [--json]
 *   node dist/scripts/apikey.js generate      a key for BOOTSTRAP_API_KEY, printed only (alias: new)
 *   node dist/scripts/apikey.js list [--json]
 *   node dist/scripts/apikey.js revoke <id>
 *
 * Exit codes: 0 done, 1 failed (database unreachable, no such key), 2 usage error. `generate` needs no database.
 */
import { parseArgs } from 'node:util';
import { generateApiKey } from '@tidegate/auth';
import { ROLES, isRole } from '@tidegate/contracts';
import { ApiKeyRepository, PrismaService, type ApiKeyRecord } from '@tidegate/database';
import { loadDotEnv } from './start/common';

const USAGE = `usage:
  node dist/scripts/apikey.js create --name <name> --role <${ROLES.join('|')}> [--json]
  node dist/scripts/apikey.js list [--json]
  node dist/scripts/apikey.js revoke <id>
  node dist/scripts/apikey.js generate      (a key for BOOTSTRAP_API_KEY; printed, not stored)
(npm run apikey -- <command> …; DATABASE_URL from the environment or .env)`;

/** Same rule as the admin API (apps/scheduler/src/api-keys/api-keys.dto.ts). */
const NAME_PATTERN = /^[\w .@-]{1,100}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class UsageError extends Error {}
class CommandError extends Error {}

interface Options {
  name?: string;
  role?: string;
  json: boolean;
  positionals: string[];
}

function parse(args: string[]): { command: string; options: Options } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        role: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const [command = '', ...positionals] = parsed.positionals;
  if (parsed.values.help) return { command: 'help', options: { json: false, positionals: [] } };
  return {
    command,
    options: { name: parsed.values.name, role: parsed.values.role, json: parsed.values.json ?? false, positionals },
  };
}

function noExtra(options: Options, allowed: Array<'name' | 'role' | 'json'>, positionals = 0): void {
  for (const key of ['name', 'role', 'json'] as const) {
    const given = key === 'json' ? options.json : options[key] !== undefined;
    if (given && !allowed.includes(key)) throw new UsageError(`--${key} does not apply here`);
  }
  if (options.positionals.length > positionals)
    throw new UsageError(`unexpected argument ${JSON.stringify(options.positionals[positionals])}`);
}

function databaseUrl(): string {
  loadDotEnv();
  const url = process.env.DATABASE_URL;
  if (!url) throw new UsageError('DATABASE_URL is not set (export it, or put it in .env)');
  return url;
}

const date = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '-');

function table(keys: ApiKeyRecord[]): string {
  const rows = [
    ['ID', 'NAME', 'ROLE', 'KEY', 'CREATED (UTC)', 'LAST USED', 'REVOKED'],
    ...keys.map((k) => [k.id, k.name, k.role, `tg_${k.prefix}_…`, date(k.createdAt), date(k.lastUsedAt), date(k.revokedAt)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function run(command: string, options: Options): Promise<void> {
  switch (command) {
    case 'create': {
      noExtra(options, ['name', 'role', 'json']);
      const name = options.name?.trim();
      if (!name) throw new UsageError('create needs --name <name>');
      if (!NAME_PATTERN.test(name)) throw new UsageError('--name: 1 to 100 letters, digits, spaces and _ . @ -');
      if (!options.role) throw new UsageError(`create needs --role <${ROLES.join('|')}>`);
      if (!isRole(options.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')} (got ${JSON.stringify(options.role)})`);
      const role = options.role;
      await withRepository(async (keys) => {
        const generated = generateApiKey();
        const record = await keys.create({ name, role, prefix: generated.prefix, hash: generated.hash });
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ ...record, key: generated.key }, null, 2)}\n`);
          return;
        }
        // The key alone on stdout (KEY=$(… create …) works); the explanation on stderr.
        process.stderr.write(`Created API key "${record.name}" (role ${record.role}, id ${record.id}). It is shown only now; store it:\n`);
        process.stdout.write(`${generated.key}\n`);
      });
      return;
    }
    case 'generate':
    case 'new': {
      // A key for BOOTSTRAP_API_KEY: made here, stored nowhere; the scheduler installs it (as sre) at boot.
      noExtra(options, []);
      process.stderr.write(
        'A new API key, stored nowhere: set it as BOOTSTRAP_API_KEY and the scheduler installs it (role sre) at boot.\n',
      );
      process.stdout.write(`${generateApiKey().key}\n`);
      return;
    }
    case 'list': {
      noExtra(options, ['json']);
      await withRepository(async (keys) => {
        const all = await keys.list();
        if (options.json) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        else if (all.length === 0)
          process.stdout.write('no API keys yet: create one with `npm run apikey -- create --name <name> --role sre`\n');
        else process.stdout.write(`${table(all)}\n`);
      });
      return;
    }
    case 'revoke': {
      noExtra(options, [], 1);
      const id = options.positionals[0];
      if (!id) throw new UsageError('revoke needs the key id (see `list`)');
      if (!UUID_PATTERN.test(id)) throw new UsageError(`${JSON.stringify(id)} is not a key id (a UUID; see \`list\`)`);
      await withRepository(async (keys) => {
        const revoked = await keys.revoke(id);
        if (!revoked) throw new CommandError(`no API key with id ${id}`);
        process.stdout.write(`revoked API key "${revoked.name}" (tg_${revoked.prefix}_…, role ${revoked.role})\n`);
      });
      return;
    }
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    case '':
      throw new UsageError('no command given');
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

async function withRepository(fn: (keys: ApiKeyRepository) => Promise<void>): Promise<void> {
  const prisma = new PrismaService({ connectionString: databaseUrl(), max: 1, applicationName: 'tidegate-apikey-cli' });
  try {
    await fn(new ApiKeyRepository(prisma));
  } finally {
    await prisma.$disconnect().catch(() => undefined);
  }
}

/** One line for a database failure, with a hint for the usual causes. */
function failure(err: unknown): string {
  if (err instanceof CommandError) return err.message;
  const code = (err as { code?: string }).code;
  const lines = (err instanceof Error ? err.message : String(err))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines[lines.length - 1] ?? 'unknown error';
  if (code === 'P2021') return `${last}\nThe database has no tables yet: run npm run db:migrate`;
  if (/ECONNREFUSED|ENOTFOUND|connect|reach/i.test(last))
    return `cannot reach PostgreSQL (${last}); is DATABASE_URL right and the server up?`;
  return last;
}

export async function main(args: string[]): Promise<number> {
  try {
    const { command, options } = parse(args);
    await run(command, options);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`apikey: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`apikey: ${failure(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
