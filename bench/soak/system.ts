/**
 * What the soak runs against: a private redis-server (so its CLIENT LIST holds only the apps' connections and the
 * soak's own), a fresh migrated database, the simulator's origin, one room in front of it, and the gateway and the ws
 * app as deployed (NODE_ENV=production, dist/), each with the memory probe preloaded (`--expose-gc`: heap after a
 * full GC on request, over IPC) and its internal listener on a known port (/metrics).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { closeRedisClient, createRedisClient, RedisKeys, RoomConfigStore, waitUntilReady } from '@tidegate/redis';
import { appEnv, benchServer, signingKeyPem, startApp, waitReady, type RunningApp } from '../lib/apps';
import { freePort, waitFor } from '../lib/processes';
import { createBenchDatabase, type BenchDatabase, type BenchRedis } from '../lib/services';
import type { BenchContext } from '../lib/types';
import { startOrigin, type SimOrigin } from '../simulate/servers';

export const ROOM_ID = 'soak';
export const PATH_PREFIX = '/shop';
const READY_MS = 60_000;

export interface SoakSystem {
  redis: BenchRedis;
  origin: SimOrigin;
  gateway: RunningApp & { metricsUrl: string };
  ws: RunningApp & { metricsUrl: string };
  room: RoomSettings;
}

/** redis-server on a free loopback port, no persistence; stopped (SIGTERM) when the soak ends. */
async function startPrivateRedis(ctx: BenchContext): Promise<BenchRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-soak-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  ctx.defer(async () => {
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(() => Promise.resolve(output.includes('Ready to accept connections')), 10_000, 'redis-server to start', ctx.signal);
  const url = `redis://127.0.0.1:${port}`;
  const client = createRedisClient({ url }, { name: 'soak', forBullmq: true });
  ctx.defer(() => closeRedisClient(client));
  await waitUntilReady(client, 10_000);
  const prefix = `soak-${randomBytes(4).toString('hex')}`;
  return { client, keys: new RedisKeys(prefix), prefix, url };
}

/** A room as the admin API creates it: the row in PostgreSQL, then the hot copy in Redis and a version bump. */
async function createRoom(db: BenchDatabase, redis: BenchRedis, settings: RoomSettings, originUrl: string): Promise<void> {
  await db.query(
    `INSERT INTO rooms (id, name, origin_url, paths, total_active_users, new_users_per_minute, session_duration_seconds,
       queueing_method, queue_all, suspended, max_wait_seconds, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())`,
    [
      ROOM_ID,
      'Soak room',
      originUrl,
      [`${PATH_PREFIX}/*`],
      settings.totalActiveUsers,
      settings.newUsersPerMinute,
      settings.sessionDurationSeconds,
      settings.queueingMethod,
      settings.queueAll,
      settings.suspended,
      settings.maxWaitSeconds,
    ],
  );
  await new RoomConfigStore(redis.client, redis.keys).write(ROOM_ID, settings);
}

export async function startSoakSystem(
  ctx: BenchContext,
  o: { capacity: number; newUsersPerMinute: number; sessionSeconds: number },
): Promise<SoakSystem> {
  const [db, redis] = await Promise.all([createBenchDatabase(ctx), startPrivateRedis(ctx)]);
  ctx.log(`database ${db.name}, private Redis ${redis.url}`);
  const origin = await startOrigin(o.sessionSeconds);
  ctx.defer(() => origin.close());
  const room: RoomSettings = {
    ...ROOM_DEFAULTS,
    totalActiveUsers: o.capacity,
    newUsersPerMinute: o.newUsersPerMinute,
    sessionDurationSeconds: o.sessionSeconds,
  };
  await createRoom(db, redis, room, origin.url);

  const env = { ...appEnv(db, redis), DATABASE_POOL_SIZE: '2' };
  const admission = { TICKET_SECRET: randomBytes(32).toString('base64url'), ADMISSION_SIGNING_KEY: signingKeyPem() };
  const probe = ['--expose-gc', '--require', benchServer('memory-probe.js')];
  const [wsPort, wsInternal, gatewayPort, gatewayInternal] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const ws = startApp(ctx, { app: 'ws', port: wsPort, internalPort: wsInternal, execArgv: probe, env: { ...env, ...admission } });
  const gateway = startApp(ctx, {
    app: 'gateway',
    port: gatewayPort,
    internalPort: gatewayInternal,
    execArgv: probe,
    env: {
      ...env,
      ...admission,
      WAVE_TICKET_SECRET: randomBytes(32).toString('base64url'),
      WS_PUBLIC_URL: ws.url,
      // Every simulated user has a device id of its own; nobody should be throttled here.
      THROTTLE_LIMIT: '100000',
    },
  });
  await Promise.all([waitReady(ctx, ws, READY_MS), waitReady(ctx, gateway, READY_MS)]);
  // The gateway loads rooms in the background: wait until it protects the room's paths.
  await waitFor(
    async () => {
      const res = await fetch(`${gateway.url}${PATH_PREFIX}/probe?device=probe`, { headers: { accept: 'application/json' } });
      await res.text();
      return res.headers.get('x-origin') === 'sim' || res.status === 200;
    },
    30_000,
    'the gateway to serve the room',
    ctx.signal,
  );
  return { redis, origin, gateway: withMetrics(gateway), ws: withMetrics(ws), room };
}

function withMetrics(app: RunningApp): RunningApp & { metricsUrl: string } {
  if (!app.metricsUrl) throw new Error(`${app.child.name} was started without a known internal port`);
  return { ...app, metricsUrl: app.metricsUrl };
}
