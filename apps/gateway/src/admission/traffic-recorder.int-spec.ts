/**
 * Traffic per hour of the week, from two gateways' counts in Redis to PostgreSQL (room_traffic): a second's active
 * sample counts once whichever gateways take it, arrivals add up, a flush moves the counts (nothing twice), and
 * counts whose PostgreSQL write failed are kept for the next flush.
 */
import { PrismaService, RoomRepository, RoomTrafficRepository } from '@tidegate/database';
import { hourOfWeek } from '@tidegate/domain';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { createTestRedis, type TestRedis } from '../../../../test/support/redis';
import type { RoomRegistry } from './room-registry';
import { TrafficRecorder } from './traffic-recorder';

describe('TrafficRecorder (Redis and PostgreSQL)', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let prisma: PrismaService;
  let repository: RoomTrafficRepository;
  const registry = { all: () => [{ id: 'shop' }] } as unknown as RoomRegistry;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    prisma = new PrismaService({ connectionString: db.url, max: 2 });
    repository = new RoomTrafficRepository(prisma);
    await new RoomRepository(prisma).create({ id: 'shop', name: 'Shop', originUrl: 'https://shop.example.com' });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await Promise.all([redis.cleanup(), db.drop()]);
  });

  const gateway = (repo: RoomTrafficRepository = repository) => new TrafficRecorder(redis.client, redis.keys, repo, registry);
  // Wednesday 9 December 2026, 14:00:05 UTC.
  const at = Date.UTC(2026, 11, 9, 14, 0, 5);
  const hour = hourOfWeek(at);

  it('adds two gateways’ arrivals, samples each second once, and flushes the counts to PostgreSQL once', async () => {
    const [a, b] = [gateway(), gateway()];
    for (let i = 0; i < 3; i++) a.arrived('shop');
    for (let i = 0; i < 2; i++) b.arrived('shop');
    await a.sample('shop', at, 40);
    await b.sample('shop', at + 200, 41); // the same second: not sampled again
    await b.sample('shop', at + 1000, 50);

    await Promise.all([a.flush(), b.flush()]);
    const counts = async () => (await repository.list('shop')).map(({ updatedAt: _, ...c }) => c);
    expect(await counts()).toEqual([{ hourOfWeek: hour, arrivals: 5, activeSum: 90, samples: 2 }]);
    expect(hour).toBe(2 * 24 + 14);

    // Nothing left to flush twice; a later flush adds to what PostgreSQL has.
    a.arrived('shop');
    await a.sample('shop', at + 2000, 10);
    await b.flush();
    await a.flush();
    expect(await counts()).toEqual([{ hourOfWeek: hour, arrivals: 6, activeSum: 100, samples: 3 }]);
  });

  it('keeps the counts in Redis when PostgreSQL fails, and writes them with the next flush', async () => {
    const failing = { add: () => Promise.reject(new Error('connection refused')) } as unknown as RoomTrafficRepository;
    const down = gateway(failing);
    const next = hourOfWeek(at + 3_600_000);
    down.arrived('shop');
    await down.sample('shop', at + 3_600_000, 7);
    await down.flush();
    expect((await repository.list('shop')).find((r) => r.hourOfWeek === next)).toBeUndefined();

    await gateway().flush();
    expect((await repository.list('shop')).find((r) => r.hourOfWeek === next)).toMatchObject({ arrivals: 1, activeSum: 7, samples: 1 });
  });
});
