/**
 * A waiting room for fault tests: one room in PostgreSQL and in Redis's hot copy, in front of a fake origin, and a
 * gateway process (the built dist/) pointed at a given Redis, so the test may kill Redis under it. The test's own
 * Redis client never queues commands (it samples the room while Redis comes and goes).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { PrismaService, RoomRepository } from '@tidegate/database';
import { RedisKeys, RoomConfigStore } from '@tidegate/redis';
import { admissionEnv } from '../../support/env';
import { startFakeOrigin, type FakeOrigin } from '../../support/origin';
import { freePort, httpStatus, spawnApp, waitFor, type Proc } from '../../support/processes';

export interface GatewayRig {
  roomId: string;
  keys: RedisKeys;
  /** The test's client on the same Redis (no offline queue: commands fail at once while Redis is down). */
  client: Redis;
  origin: FakeOrigin;
  gateway: Proc & { url: string };
  close(): Promise<void>;
}

export async function startGatewayRig(options: {
  databaseUrl: string;
  redisUrl: string;
  settings: Partial<RoomSettings>;
  /** The room's id (default `surge`); one rig per room of a database. */
  roomId?: string;
}): Promise<GatewayRig> {
  const prefix = `fault-${randomBytes(4).toString('hex')}`;
  const keys = new RedisKeys(prefix);
  const roomId = options.roomId ?? 'surge';
  const origin = await startFakeOrigin();
  const prisma = new PrismaService({ connectionString: options.databaseUrl, max: 2 });
  const client = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  client.on('error', () => undefined);
  await waitFor(() => client.status === 'ready', 10_000, 'the test client');
  const settings: RoomSettings = { ...ROOM_DEFAULTS, newUsersPerMinute: 600_000, ...options.settings };
  await new RoomRepository(prisma).create({ id: roomId, name: 'Surge', originUrl: origin.url, paths: [`/${roomId}/*`], ...settings });
  await prisma.$disconnect();
  await new RoomConfigStore(client, keys).write(roomId, settings);
  const port = await freePort();
  const gateway = Object.assign(
    spawnApp('gateway', {
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      ...admissionEnv(),
      GATEWAY_PORT: String(port),
      GATEWAY_INTERNAL_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '2',
      RELEASE_INTERVAL_MS: '100',
      ROOMS_REFRESH_MS: '200',
      THROTTLE_LIMIT: '1000000',
    }),
    { url: `http://127.0.0.1:${port}` },
  );
  // The room is loaded once its status route knows it (400: no ticket sent, rather than 404: no such room).
  await waitFor(
    async () => (await httpStatus(`${gateway.url}/rooms/${roomId}/status`)) === 400,
    30_000,
    `the gateway: ${gateway.output()}`,
  );
  return {
    roomId,
    keys,
    client,
    origin,
    gateway,
    close: async () => {
      await gateway.stop();
      client.disconnect();
      await origin.close();
    },
  };
}
