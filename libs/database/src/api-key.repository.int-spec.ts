import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { ApiKeyRepository } from './api-key.repository';
import { PrismaService } from './prisma.service';

describe('ApiKeyRepository (PostgreSQL)', () => {
  let db: TestDatabase;
  let prisma: PrismaService;
  let repo: ApiKeyRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = new PrismaService({ connectionString: db.url, max: 2 });
    repo = new ApiKeyRepository(prisma);
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('stores a key and never returns its hash from list()', async () => {
    const created = await repo.create({ name: 'ci', prefix: 'AAAAAAAA', hash: 'a'.repeat(64), role: 'marketer' });
    expect(created).toMatchObject({ name: 'ci', role: 'marketer', revokedAt: null });
    const listed = await repo.list();
    expect(listed.map((k) => k.prefix)).toContain('AAAAAAAA');
    expect(JSON.stringify(listed)).not.toContain('a'.repeat(64));
    expect((await repo.findByPrefix('AAAAAAAA'))?.hash).toBe('a'.repeat(64));
  });

  it('refuses a second key with the same prefix', async () => {
    await repo.create({ name: 'one', prefix: 'BBBBBBBB', hash: 'b'.repeat(64), role: 'viewer' });
    await expect(repo.create({ name: 'two', prefix: 'BBBBBBBB', hash: 'c'.repeat(64), role: 'viewer' })).rejects.toThrow();
  });

  it('ensure() is idempotent and never un-revokes the bootstrap key', async () => {
    const data = { name: 'bootstrap', prefix: 'CCCCCCCC', hash: 'd'.repeat(64), role: 'sre' as const };
    expect(await repo.ensure(data)).toEqual({ revokedAt: null });
    const first = await repo.findByPrefix('CCCCCCCC');
    const revoked = await repo.revoke(first!.id);
    expect(await repo.ensure(data)).toEqual({ revokedAt: revoked?.revokedAt });
    const again = await repo.findByPrefix('CCCCCCCC');
    expect(again?.id).toBe(first?.id);
    expect(again?.revokedAt).toEqual(revoked?.revokedAt);
    expect((await repo.list()).filter((k) => k.prefix === 'CCCCCCCC')).toHaveLength(1);
  });

  it('revoke() keeps the time of the first revocation', async () => {
    const key = await repo.create({ name: 'twice', prefix: 'DDDDDDDD', hash: 'e'.repeat(64), role: 'viewer' });
    const first = await repo.revoke(key.id);
    const second = await repo.revoke(key.id);
    expect(first?.revokedAt).toBeInstanceOf(Date);
    expect(second?.revokedAt).toEqual(first?.revokedAt);
  });

  it('revoke() returns null for an unknown id', async () => {
    expect(await repo.revoke('7d6f3f5e-0a43-4c1b-8d5e-2f7b1b0e9a11')).toBeNull();
  });
});
