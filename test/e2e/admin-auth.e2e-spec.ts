/** The admin API's keys and roles, over HTTP against a booted scheduler. */
import { generateApiKey } from '@tidegate/auth';
import type { Role } from '@tidegate/contracts';
import { startScheduler, type RunningApp } from '../support/apps';
import { createRoleKeys } from '../support/keys';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestRedis, type TestRedis } from '../support/redis';

describe('admin API authentication', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  const keys: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix });
    Object.assign(keys, await createRoleKeys(scheduler.app, (role) => role));
  });

  afterAll(async () => {
    await scheduler?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const call = (path: string, init: RequestInit & { key?: string; bearer?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.key) headers.set('x-api-key', init.key);
    if (init.bearer) headers.set('authorization', `Bearer ${init.bearer}`);
    if (init.body) headers.set('content-type', 'application/json');
    return fetch(`${scheduler.url}${path}`, { ...init, headers });
  };

  it('answers 401 without a key, with a malformed key, and with an unknown key', async () => {
    for (const key of [undefined, 'nonsense', generateApiKey().key]) {
      const res = await call('/admin/whoami', { key });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { message: string }).message).toMatch(/API key/);
    }
  });

  it('accepts a key in X-API-Key or Authorization: Bearer and says who called', async () => {
    const viaHeader = await call('/admin/whoami', { key: keys.viewer });
    expect(viaHeader.status).toBe(200);
    expect(await viaHeader.json()).toMatchObject({ keyName: 'viewer', role: 'viewer' });
    const viaBearer = await call('/admin/whoami', { bearer: keys.marketer });
    expect(await viaBearer.json()).toMatchObject({ role: 'marketer' });
  });

  it('answers 403 when the role is below what the route declares', async () => {
    for (const role of ['viewer', 'marketer'] as const) {
      const res = await call('/admin/api-keys', { key: keys[role] });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message: string }).message).toContain(`needs the sre role; the key has ${role}`);
    }
    expect((await call('/admin/api-keys', { key: keys.sre })).status).toBe(200);
  });

  it('creates a key that works at once, and revokes it so it stops at once', async () => {
    const created = await call('/admin/api-keys', {
      method: 'POST',
      key: keys.sre,
      body: JSON.stringify({ name: 'ops bot', role: 'marketer' }),
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; key: string; role: string };
    expect(body.role).toBe('marketer');
    expect((await call('/admin/whoami', { key: body.key })).status).toBe(200);

    const listed = await (await call('/admin/api-keys', { key: keys.sre })).text();
    expect(listed).not.toContain(body.key);

    expect((await call(`/admin/api-keys/${body.id}`, { method: 'DELETE', key: keys.sre })).status).toBe(200);
    const after = await call('/admin/whoami', { key: body.key });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { message: string }).message).toContain('revoked');
  });

  it('answers 400 naming the bad fields, and creates nothing', async () => {
    const before = (await (await call('/admin/api-keys', { key: keys.sre })).json()) as unknown[];
    const res = await call('/admin/api-keys', {
      method: 'POST',
      key: keys.sre,
      body: JSON.stringify({ name: '', role: 'admin', extra: 1 }),
    });
    expect(res.status).toBe(400);
    const message = ((await res.json()) as { message: string[] }).message.join(' | ');
    expect(message).toMatch(/name must be longer than or equal to 1 characters/);
    expect(message).toMatch(/role must be one of marketer, sre, viewer/);
    expect(message).toMatch(/property extra should not exist/);
    const after = (await (await call('/admin/api-keys', { key: keys.sre })).json()) as unknown[];
    expect(after).toHaveLength(before.length);
  });

  it('answers 400 for malformed JSON and ids, and 404 for an unknown key id', async () => {
    const bad = await call('/admin/api-keys', { method: 'POST', key: keys.sre, body: '{"name":' });
    expect(bad.status).toBe(400);
    expect((await call('/admin/api-keys/not-a-uuid', { method: 'DELETE', key: keys.sre })).status).toBe(400);
    const missing = await call('/admin/api-keys/7d6f3f5e-0a43-4c1b-8d5e-2f7b1b0e9a11', { method: 'DELETE', key: keys.sre });
    expect(missing.status).toBe(404);
  });

  it('answers 400 naming the limit for a JSON body nested 3,000 deep, for every role, and creates nothing', async () => {
    const before = (await (await call('/admin/api-keys', { key: keys.sre })).json()) as unknown[];
    const deep = '{"name":'.repeat(3000) + '"x"' + '}'.repeat(3000);
    for (const role of ['viewer', 'marketer', 'sre'] as const) {
      const res = await call('/admin/api-keys', { method: 'POST', key: keys[role], body: deep });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe('JSON body nested deeper than 64 levels');
    }
    const after = (await (await call('/admin/api-keys', { key: keys.sre })).json()) as unknown[];
    expect(after).toHaveLength(before.length);
  });

  it('marks every admin answer no-store and nosniff: the created key, errors, and unknown routes alike', async () => {
    const created = await call('/admin/api-keys', {
      method: 'POST',
      key: keys.sre,
      body: JSON.stringify({ name: 'cached', role: 'viewer' }),
    });
    expect(created.status).toBe(201);
    const answers = [
      created,
      await call('/admin/whoami', { key: keys.viewer }),
      await call('/admin/api-keys', { key: keys.sre }),
      await call('/admin/whoami'),
      await call('/admin/api-keys', { key: keys.viewer }),
      await call('/admin/api-keys', { method: 'POST', key: keys.sre, body: '{"name":' }),
      await call('/admin/no-such-route', { key: keys.sre }),
    ];
    expect(answers.map((r) => r.status)).toEqual([201, 200, 200, 401, 403, 400, 404]);
    for (const res of answers) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('keeps a revoked bootstrap key revoked across restarts', async () => {
    const bootstrap = generateApiKey().key;
    const boot = () => startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix, extra: { BOOTSTRAP_API_KEY: bootstrap } }, 'api');
    const whoami = (app: RunningApp) => fetch(`${app.url}/admin/whoami`, { headers: { 'x-api-key': bootstrap } });
    const first = await boot();
    try {
      expect(await (await whoami(first)).json()).toMatchObject({ keyName: 'bootstrap', role: 'sre' });
      const listed = (await (await call('/admin/api-keys', { key: keys.sre })).json()) as Array<{ id: string; name: string }>;
      const id = listed.find((k) => k.name === 'bootstrap')?.id;
      expect((await call(`/admin/api-keys/${id}`, { method: 'DELETE', key: keys.sre })).status).toBe(200);
      expect((await whoami(first)).status).toBe(401);
    } finally {
      await first.close();
    }
    const second = await boot();
    try {
      const res = await whoami(second);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { message: string }).message).toContain('revoked');
    } finally {
      await second.close();
    }
  });

  it('keeps health, metrics and the OpenAPI document public', async () => {
    expect((await call('/health/live')).status).toBe(200);
    expect((await call('/metrics')).status).toBe(200);
    const doc = (await (await call('/docs/json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/admin/api-keys', '/admin/whoami', '/health/ready']));
  });
});
