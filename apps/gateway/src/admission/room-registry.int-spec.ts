/**
 * The rooms' hot copies after Redis lost its data: the registry notices at its next refresh (the rooms' version key
 * is gone) and rewrites them from PostgreSQL, also after a second loss, rather than at its 30 s full reload. Found by
 * the fault suite (test/faults/redis-volatile-admission.fault-spec.ts): a room answered 503 "not ready" for ~21 s
 * after a second loss, because the version read 0 before and after it.
 */
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { PrismaService, RoomRepository } from '@tidegate/database';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { createTestRedis, deleteByPattern, type TestRedis } from '../../../../test/support/redis';
import { RoomRegistry } from './room-registry';

describe('RoomRegistry after Redis lost its data', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let prisma: PrismaService;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    prisma = new PrismaService({ connectionString: db.url, max: 2 });
    await new RoomRepository(prisma).create({ id: 'shop', name: 'Shop', originUrl: 'https://shop.example.com', ...ROOM_DEFAULTS });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await Promise.all([redis.cleanup(), db.drop()]);
  });

  const hotCopy = () => redis.client.exists(redis.keys.room('shop').config);
  /** What a Redis restarted without persistence leaves of this test's keys: nothing. */
  const loseEverything = () => deleteByPattern(redis.client, redis.keys.everything);

  it('rewrites the hot copy at the next refresh after each loss, the first and the second', async () => {
    const registry = new RoomRegistry(new RoomRepository(prisma), redis.client, redis.keys, 60_000);
    await registry.refresh();
    expect(await hotCopy()).toBe(1);

    await loseEverything();
    await registry.refresh();
    expect(await hotCopy()).toBe(1);

    await loseEverything();
    await registry.refresh();
    expect(await hotCopy()).toBe(1);
    registry.onModuleDestroy();
  });
});
