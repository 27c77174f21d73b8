/**
 * Every operation of the committed OpenAPI documents (openapi/*.json), called on booted apps: an operation says who
 * may call it (`x-required-role`, from `@RequireRole`, or `x-public`, from `@Public`). Without a key, or with an
 * unknown one, a role-bound route answers 401; with a key of each role below the one it needs, 403; with the role it
 * needs, it gets past the guard (a 400 or 404 for the test's empty body and made-up ids, never a 5xx). The body is
 * empty or `{}`: authentication comes before validation, so a 400 where a 401 is due fails. Public routes answer
 * without a key. An operation that says neither fails, and so does a running app whose routes differ from the
 * committed document (a route added without `npm run openapi`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { generateApiKey, roleSatisfies } from '@tidegate/auth';
import { isRole, ROLES, type Role } from '@tidegate/contracts';
import { buildOpenApiDocument, type OpenApiOptions } from '@tidegate/platform';
import { GATEWAY_OPENAPI } from '../../apps/gateway/src/openapi';
import { SCHEDULER_OPENAPI } from '../../apps/scheduler/src/openapi';
import { adminFetch } from '../support/admin-api';
import { startGateway, startScheduler, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { createTestRedis, type TestRedis } from '../support/redis';

interface Parameter {
  in: string;
  name: string;
  schema?: { type?: string; format?: string; example?: string | number };
}
interface Operation {
  'x-required-role'?: unknown;
  'x-public'?: unknown;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, unknown>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}
interface Route {
  app: 'scheduler' | 'gateway';
  method: string;
  path: string;
  op: Operation;
}

const root = path.resolve(__dirname, '../..');
const committed = (app: Route['app']) => JSON.parse(fs.readFileSync(path.join(root, 'openapi', `${app}.json`), 'utf8')) as OpenApiDocument;

function routesOf(app: Route['app']): Route[] {
  return Object.entries(committed(app).paths).flatMap(([p, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ app, method: method.toUpperCase(), path: p, op })),
  );
}

const routes = [...routesOf('scheduler'), ...routesOf('gateway')];
const guarded = routes.filter((r) => r.op['x-required-role'] !== undefined);
const open = routes.filter((r) => r.op['x-public'] === true);
/** Who may call an operation, as the document says. */
const access = (op: Operation) => (op['x-public'] === true ? 'public' : String(op['x-required-role']));
const name = (r: Route) => `${r.app} ${r.method} ${r.path}`;

/** A plausible value for each path parameter: a fresh UUID, the schema's example, or a number. */
function concretePath(r: Route): string {
  return r.path.replace(/\{(\w+)\}/g, (_, param: string) => {
    const schema = r.op.parameters?.find((p) => p.in === 'path' && p.name === param)?.schema ?? {};
    if (schema.example !== undefined) return encodeURIComponent(String(schema.example));
    if (schema.type === 'integer') return '42';
    return randomUUID();
  });
}

/** The smallest body the operation takes: `{}` for JSON, an empty document otherwise; nothing without a body. */
function minimalBody(r: Route): { raw?: string; type?: string } {
  const types = Object.keys(r.op.requestBody?.content ?? {});
  if (types.length === 0) return {};
  return types.includes('application/json') ? { raw: '{}', type: 'application/json' } : { raw: '', type: types[0] };
}

describe('every operation of the committed OpenAPI documents, with and without keys', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let gateway: RunningApp;
  let keys: Record<Role, string>;
  const urlOf = (r: Route) => (r.app === 'scheduler' ? scheduler.url : gateway.url);
  const call = async (r: Route, headers: Record<string, string> = {}) => {
    const res = await adminFetch(urlOf(r), r.method, concretePath(r), { ...minimalBody(r), headers });
    const text = await res.text();
    return { status: res.status, text };
  };

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    const env = { databaseUrl: db.url, redisPrefix: redis.prefix };
    [scheduler, gateway] = await Promise.all([startScheduler(env, 'api'), startGateway(env)]);
    keys = await createRoleKeys(scheduler.app);
  });

  afterAll(async () => {
    await Promise.all([scheduler?.close(), gateway?.close()]);
    await Promise.all([redis?.cleanup(), db?.drop()]);
  });

  it('says for every operation who may call it: one known role, or public', () => {
    expect(guarded.length).toBeGreaterThan(30);
    expect(open.length).toBeGreaterThan(4);
    const undeclared = routes.filter((r) => (r.op['x-public'] === true) === isRole(r.op['x-required-role'])).map(name);
    expect(undeclared).toEqual([]);
  });

  it('serves the routes the committed documents list, each with the access they say, no more, no fewer', () => {
    const list = (doc: OpenApiDocument) =>
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => `${m} ${p} ${access(op)}`));
    const live = (app: RunningApp, options: OpenApiOptions) => buildOpenApiDocument(app.app, options) as unknown as OpenApiDocument;
    expect(list(live(scheduler, SCHEDULER_OPENAPI)).sort()).toEqual(list(committed('scheduler')).sort());
    expect(list(live(gateway, GATEWAY_OPENAPI)).sort()).toEqual(list(committed('gateway')).sort());
  });

  it('answers 401 to a role-bound route without a key, with a malformed key and with an unknown key', async () => {
    const wrong: string[] = [];
    for (const r of guarded) {
      const attempts: Array<Record<string, string>> = [
        {},
        { 'x-api-key': 'nonsense' },
        { authorization: `Bearer ${generateApiKey().key}` },
      ];
      for (const headers of attempts) {
        const { status, text } = await call(r, headers);
        if (status !== 401) wrong.push(`${name(r)} ${JSON.stringify(headers)} → ${status} ${text.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers 403 to each role below the one a route needs, and lets the role it needs past the guard', async () => {
    const wrong: string[] = [];
    let forbidden = 0;
    for (const r of guarded) {
      const required = r.op['x-required-role'] as Role;
      for (const role of ROLES) {
        const { status, text } = await call(r, { 'x-api-key': keys[role] });
        const expected = roleSatisfies(role, required) ? 'past the guard' : 403;
        if (expected === 403) forbidden++;
        const ok =
          expected === 403
            ? status === 403
            : status !== 401 && status !== 403 && (status < 500 || r.op.responses[String(status)] !== undefined);
        if (!ok) wrong.push(`${name(r)} as ${role} (needs ${required}) → ${status} ${text.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
    // viewer < marketer < sre: every marketer route refuses a viewer, every sre route refuses both.
    expect(forbidden).toBe(
      guarded.reduce((n, r) => n + ROLES.filter((role) => !roleSatisfies(role, r.op['x-required-role'] as Role)).length, 0),
    );
    expect(forbidden).toBeGreaterThan(guarded.length / 2);
  });

  it('answers public routes without a key, never 401 or 403, never a 5xx the document does not list', async () => {
    const wrong: string[] = [];
    for (const r of open) {
      const { status, text } = await call(r);
      if (status === 401 || status === 403 || (status >= 500 && r.op.responses[String(status)] === undefined)) {
        wrong.push(`${name(r)} → ${status} ${text.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
