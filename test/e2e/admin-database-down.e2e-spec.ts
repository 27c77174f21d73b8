/**
 * The admin API while PostgreSQL cannot be reached (the scheduler's DATABASE_URL points at a TCP proxy that the test
 * stops): 503 naming the database with Retry-After, never a 500; keys verified within the last minute still
 * authenticate (from the cache in Redis), revoked ones do not; all recovers once PostgreSQL is back.
 */
import { DispatchStore } from '@tidegate/redis';
import { startScheduler, type RunningApp } from '../support/apps';
import { createRoleKeys } from '../support/keys';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

describe('admin API with PostgreSQL unreachable', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let proxy: TcpProxy;
  let scheduler: RunningApp;
  let keys: Awaited<ReturnType<typeof createRoleKeys>>;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    const target = new URL(db.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    scheduler = await startScheduler({ databaseUrl: proxy.rewrite(db.url), redisPrefix: redis.prefix }, 'api');
    keys = await createRoleKeys(scheduler.app);
  });

  afterAll(async () => {
    // Back up first, so the scheduler closes its pool cleanly; then closed for good (a listening proxy keeps Jest alive).
    await proxy?.start().catch(() => undefined);
    await scheduler?.close();
    await proxy?.stop();
    await redis?.cleanup();
    await db?.drop();
  });

  const call = (path: string, key: string, init: RequestInit = {}) =>
    fetch(`${scheduler.url}${path}`, {
      ...init,
      headers: { 'x-api-key': key, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    });

  async function expectUnavailable(res: Response): Promise<void> {
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(((await res.json()) as { message: string }).message).toMatch(/^database unavailable/);
  }

  it('answers 503 with Retry-After, authenticates keys verified recently, never a revoked one, and recovers', async () => {
    // While PostgreSQL is up: the viewer and sre keys are verified; a new key is created, used, and revoked.
    expect((await call('/admin/whoami', keys.viewer)).status).toBe(200);
    expect((await call('/admin/api-keys', keys.sre)).status).toBe(200);
    const created = await call('/admin/api-keys', keys.sre, { method: 'POST', body: JSON.stringify({ name: 'short-lived', role: 'sre' }) });
    const { id, key: revokedKey } = (await created.json()) as { id: string; key: string };
    expect((await call('/admin/whoami', revokedKey)).status).toBe(200);
    expect((await call(`/admin/api-keys/${id}`, keys.sre, { method: 'DELETE' })).status).toBe(200);

    await proxy.stop();

    // A key never verified cannot be checked: 503, not 401 and not 500.
    await expectUnavailable(await call('/admin/whoami', keys.marketer));
    // The revoked key left the cache when it was revoked.
    await expectUnavailable(await call('/admin/whoami', revokedKey));
    // A key verified a moment ago still authenticates, so routes that need no PostgreSQL keep working.
    const whoami = await call('/admin/whoami', keys.viewer);
    expect(whoami.status).toBe(200);
    expect(await whoami.json()).toMatchObject({ keyName: 'viewer-key', role: 'viewer' });
    // Routes whose queries fail answer 503 too.
    await expectUnavailable(await call('/admin/api-keys', keys.sre));
    await expectUnavailable(
      await call('/admin/api-keys', keys.sre, { method: 'POST', body: JSON.stringify({ name: 'x', role: 'viewer' }) }),
    );
    await expectUnavailable(await call('/admin/rooms', keys.viewer));
    // Roles still apply to cached keys.
    expect((await call('/admin/api-keys', keys.viewer)).status).toBe(403);

    await proxy.start();
    await waitFor(async () => (await call('/admin/whoami', keys.marketer)).status === 200, 15_000, 'the marketer key to work again');
    expect((await call('/admin/api-keys', keys.sre)).status).toBe(200);
    expect((await call('/admin/whoami', revokedKey)).status).toBe(401);
  });

  it("serves a campaign's stats and status from Redis while PostgreSQL is out of reach (the rest answers 503)", async () => {
    // While PostgreSQL is up: the keys are verified, a campaign starts, and the workers' counters are in Redis.
    expect((await call('/admin/whoami', keys.viewer)).status).toBe(200);
    const created = await call('/admin/campaigns', keys.marketer, {
      method: 'POST',
      body: JSON.stringify({
        name: 'During an outage',
        message: { title: 'Hi', body: 'There' },
        audience: { device_ids: ['1', '2', '3'] },
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect((await call(`/admin/campaigns/${id}/start`, keys.marketer, { method: 'POST' })).status).toBe(200);
    const store = scheduler.app.get(DispatchStore);
    await store.planned(id, 1, 3, true);
    await store.record(
      id,
      1,
      [
        { deviceId: '1', outcome: 'sent', provider: 'fcm' },
        { deviceId: '2', outcome: 'failed' },
      ],
      2000,
    );

    await proxy.stop();
    const stats = await call(`/admin/campaigns/${id}/stats`, keys.viewer);
    expect(stats.status).toBe(200);
    expect(await stats.json()).toMatchObject({
      campaign_id: id,
      status: 'running',
      status_reason: 'started by marketer-key',
      database: 'unavailable',
      source: 'redis',
      targeted: 3,
      sent: 1,
      failed: 1,
      by_provider: { fcm: 1 },
    });
    // What only PostgreSQL holds (the content) is a 503.
    await expectUnavailable(await call(`/admin/campaigns/${id}`, keys.viewer));
    // A campaign Redis knows nothing of cannot be served either: 503, not 404 (PostgreSQL may know it).
    await expectUnavailable(await call('/admin/campaigns/00000000-0000-4000-8000-000000000000/stats', keys.viewer));

    await proxy.start();
    await waitFor(async () => (await call(`/admin/campaigns/${id}/stats`, keys.viewer)).status === 200, 15_000, 'PostgreSQL back');
    expect(await (await call(`/admin/campaigns/${id}/stats`, keys.viewer)).json()).toMatchObject({
      database: 'available',
      status: 'running',
    });
  });
});
