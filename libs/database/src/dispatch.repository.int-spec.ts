import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { DispatchRepository } from './dispatch.repository';
import { PrismaService } from './prisma.service';

/** The reads a campaign's workers make on every wave and batch, straight through Prisma's pg pool. */
describe('DispatchRepository reads (PostgreSQL)', () => {
  let db: TestDatabase;
  let prisma: PrismaService;
  let repo: DispatchRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = new PrismaService({ connectionString: db.url, max: 2 });
    repo = new DispatchRepository(prisma);
    // Ids across powers of ten: in text order 10 < 100 < 1000 < 11 < 9 < 99, in number order 9 < 10 < 11 < 99 < 100 < 1000.
    for (const id of [1000n, 99n, 9n, 100n, 11n, 10n]) {
      await prisma.device.create({
        data: { id, platform: id % 2n === 0n ? 'fcm' : 'apns', token: `token-${id}`, timezone: 'Europe/Paris', active: id !== 100n },
      });
    }
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('pages a segment in id order, by number, from the given id', async () => {
    const page = async (after: bigint, limit: number) => (await repo.segmentPage({ activeOnly: false }, after, limit)).map((d) => d.id);
    expect(await page(0n, 4)).toEqual(['9', '10', '11', '99']);
    expect(await page(11n, 10)).toEqual(['99', '100', '1000']);
    expect(await repo.segmentPage({}, 10n, 2)).toEqual([
      { id: '11', platform: 'apns' },
      { id: '99', platform: 'apns' },
    ]);
  });

  it('pages every platform, and an empty page after the last device', async () => {
    await prisma.device.create({ data: { id: 2000n, platform: 'webpush', token: 'https://push.example/2000', timezone: 'UTC' } });
    try {
      expect(await repo.segmentPage({}, 99n, 10)).toEqual([
        { id: '1000', platform: 'fcm' },
        { id: '2000', platform: 'webpush' },
      ]);
      expect(await repo.segmentPage({}, 2000n, 10)).toEqual([]);
      expect(await repo.segmentPage({ platforms: ['webpush'] }, 0n, 10)).toEqual([{ id: '2000', platform: 'webpush' }]);
    } finally {
      await prisma.device.delete({ where: { id: 2000n } });
    }
  });

  it('reads the same pages as text: the ids joined in id order by number, a letter per platform, none past upTo', async () => {
    await prisma.device.create({ data: { id: 2000n, platform: 'webpush', token: 'https://push.example/2000', timezone: 'UTC' } });
    const asText = async (after: bigint, limit: number, upTo: bigint | null = null, segment = {}) => {
      const page = await repo.segmentPageText(segment, after, limit, upTo);
      return page && { count: page.count, text: page.text, letters: page.letters };
    };
    try {
      expect(await asText(0n, 10)).toEqual({ count: 6, text: '9,10,11,99,1000,2000', letters: 'afaafw' });
      expect(await asText(0n, 10, null, { activeOnly: false })).toEqual({ count: 7, text: '9,10,11,99,100,1000,2000', letters: 'afaaffw' });
      // As segmentPage reads them, for every page of every size (100 is inactive).
      for (const after of [0n, 9n, 10n, 11n, 99n, 100n, 1000n, 2000n]) {
        for (const limit of [1, 2, 3, 10]) {
          const rows = await repo.segmentPage({}, after, limit);
          expect([after, limit, await asText(after, limit)]).toEqual([
            after,
            limit,
            {
              count: rows.length,
              text: rows.map((r) => r.id).join(','),
              letters: rows.map((r) => ({ fcm: 'f', apns: 'a', webpush: 'w' })[r.platform]).join(''),
            },
          ]);
        }
      }
      // A wave listed again from its checkpoint: nothing after its last id.
      expect(await asText(9n, 10, 99n)).toEqual({ count: 3, text: '10,11,99', letters: 'faa' });
      expect(await asText(0n, 10, null, { platforms: ['webpush'] })).toEqual({ count: 1, text: '2000', letters: 'w' });
      expect(Array.from((await repo.segmentPageText({}, 0n, 10))?.ids ?? [])).toEqual([9, 10, 11, 99, 1000, 2000]);
    } finally {
      await prisma.device.delete({ where: { id: 2000n } });
    }
  });

  it('lists the platforms of an inline audience in id order, by number, ids as text', async () => {
    expect(await repo.platformsOf([1000n, 9n, 10n, 123456n])).toEqual([
      { id: '9', platform: 'apns' },
      { id: '10', platform: 'fcm' },
      { id: '1000', platform: 'fcm' },
    ]);
  });

  it('reads the active devices of a batch: ids that are no device, or deactivated, are absent; zones when asked for', async () => {
    const byId = <D extends { id: string }>(devices: D[]) => devices.sort((a, b) => Number(a.id) - Number(b.id));
    expect(byId(await repo.activeDevices(['9', '100', '1000', '123456']))).toEqual([
      { id: '9', platform: 'apns', token: 'token-9', p256dh: null, auth: null },
      { id: '1000', platform: 'fcm', token: 'token-1000', p256dh: null, auth: null },
    ]);
    // The time zones when asked for (quiet hours).
    expect(byId(await repo.activeDevices(['9', '100', '1000', '123456'], { timezone: true }))).toEqual([
      { id: '9', platform: 'apns', token: 'token-9', p256dh: null, auth: null, timezone: 'Europe/Paris' },
      { id: '1000', platform: 'fcm', token: 'token-1000', p256dh: null, auth: null, timezone: 'Europe/Paris' },
    ]);
    expect(await repo.activeDevices([])).toEqual([]);
    await expect(repo.activeDevices(['9', 'x'])).rejects.toThrow();
  });

  it('reads a batch of consecutive ids by ranges: exactly its active devices, none from the holes or past its ends', async () => {
    // Devices 5000-5199, 5050 deactivated; a batch never gets a device it did not list.
    await prisma.device.createMany({
      data: Array.from({ length: 200 }, (_, i) => ({
        id: BigInt(5000 + i),
        platform: 'fcm' as const,
        token: `t-${5000 + i}`,
        timezone: 'Asia/Tokyo',
        active: i !== 50,
      })),
    });
    const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
    const read = async (batch: string[], zone = false) => {
      const devices = zone ? await repo.activeDevices(batch, { timezone: true }) : await repo.activeDevices(batch);
      return devices.map((d) => d.id).sort((a, b) => Number(a) - Number(b));
    };
    try {
      // One run (5050 is inactive), two runs, a run with holes (not read), three runs and scattered ids (by id).
      expect(await read(ids(5000, 5099))).toEqual(ids(5000, 5099).filter((id) => id !== '5050'));
      expect(await read([...ids(5010, 5019), ...ids(5150, 5159)])).toEqual([...ids(5010, 5019), ...ids(5150, 5159)]);
      const holed = ids(5100, 5139).filter((id) => id !== '5110' && id !== '5120');
      expect(await read(holed)).toEqual(holed);
      expect(await read(holed, true)).toEqual(holed);
      const three = [...ids(5000, 5004), ...ids(5100, 5104), ...ids(5190, 5194)];
      expect(await read(three)).toEqual(three);
      expect(await read(['5199', '5001', '5150'])).toEqual(['5001', '5150', '5199']);
      // Past the last device: only those that exist.
      expect(await read(ids(5190, 5209))).toEqual(ids(5190, 5199));
      expect((await repo.activeDevices(['5001'], { timezone: true }))[0]).toEqual({
        id: '5001',
        platform: 'fcm',
        token: 't-5001',
        p256dh: null,
        auth: null,
        timezone: 'Asia/Tokyo',
      });
    } finally {
      await prisma.device.deleteMany({ where: { id: { gte: 5000n, lt: 5200n } } });
    }
  });
  it('reads a batch in one query, and a device whose endpoint holds a separator exactly all the same (row by row)', async () => {
    // Stored before the device rules refused control characters, or written around the API.
    const endpoint = 'https://push.example.com/sub\x1e6002\x1ffcm\x1fstolen\x1f\x1f';
    await prisma.device.createMany({
      data: [
        { id: 6000n, platform: 'fcm', token: 'fcm-6000', timezone: 'UTC' },
        { id: 6001n, platform: 'webpush', token: endpoint, p256dh: 'B'.repeat(87), auth: 'A\x1futh', timezone: 'UTC' },
        { id: 6003n, platform: 'apns', token: 'a'.repeat(64), timezone: 'Asia/Tokyo' },
      ],
    });
    const pool = await prisma.pgPool();
    const query = jest.spyOn(pool, 'query');
    const byId = <D extends { id: string }>(devices: D[]) => devices.sort((a, b) => Number(a.id) - Number(b.id));
    try {
      expect(byId(await repo.activeDevices(['6000', '6003']))).toEqual([
        { id: '6000', platform: 'fcm', token: 'fcm-6000', p256dh: null, auth: null },
        { id: '6003', platform: 'apns', token: 'a'.repeat(64), p256dh: null, auth: null },
      ]);
      expect(query).toHaveBeenCalledTimes(1);
      query.mockClear();
      for (const batch of [
        ['6000', '6001', '6002', '6003'],
        ['6003', '6001', '6000'],
      ]) {
        expect(byId(await repo.activeDevices(batch, { timezone: true }))).toEqual([
          { id: '6000', platform: 'fcm', token: 'fcm-6000', p256dh: null, auth: null, timezone: 'UTC' },
          { id: '6001', platform: 'webpush', token: endpoint, p256dh: 'B'.repeat(87), auth: 'A\x1futh', timezone: 'UTC' },
          { id: '6003', platform: 'apns', token: 'a'.repeat(64), p256dh: null, auth: null, timezone: 'Asia/Tokyo' },
        ]);
      }
      // The joined read, then the rows.
      expect(query).toHaveBeenCalledTimes(4);
    } finally {
      query.mockRestore();
      await prisma.device.deleteMany({ where: { id: { gte: 6000n, lt: 6100n } } });
    }
  });
});
