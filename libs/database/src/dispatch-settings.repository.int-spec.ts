import { DEFAULT_DISPATCH_SETTINGS, type DispatchSettings } from '@tidegate/domain';
import { applyDispatchSettingsPatch } from '../../domain/src/dispatch-settings-rules';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { CampaignRepository } from './campaign.repository';
import {
  DispatchSettingsRepository,
  InvalidDispatchSettingsError,
  type DispatchSettingsPatch,
  type SettingActor,
} from './dispatch-settings.repository';
import { PrismaService } from './prisma.service';

const sre: SettingActor = { keyId: '7d6f3f5e-0a43-4c1b-8d5e-2f7b1b0e9a11', keyName: 'sre-key' };

describe('DispatchSettingsRepository (PostgreSQL)', () => {
  let db: TestDatabase;
  let prisma: PrismaService;
  let repo: DispatchSettingsRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = new PrismaService({ connectionString: db.url, max: 4 });
    repo = new DispatchSettingsRepository(prisma);
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  beforeEach(async () => {
    await prisma.settingChange.deleteMany();
    await prisma.dispatchSettings.deleteMany();
  });

  it('gives the defaults while nothing is stored', async () => {
    expect(await repo.get()).toEqual(DEFAULT_DISPATCH_SETTINGS);
    expect(await repo.read()).toEqual({ settings: DEFAULT_DISPATCH_SETTINGS, updatedAt: null, updatedBy: null });
  });

  it('merges a stored value over the defaults, provider quotas one by one', async () => {
    await prisma.dispatchSettings.create({ data: { id: 1, value: { waveSize: 9000, providerPerMinute: { apns: 100 } } } });
    expect(await repo.get()).toEqual({
      ...DEFAULT_DISPATCH_SETTINGS,
      waveSize: 9000,
      providerPerMinute: { fcm: 600_000, apns: 100, webpush: null },
    });
  });

  it('writes the new value and one change row holding the whole old and new settings', async () => {
    const result = await repo.update({ waveSize: 2000, providerPerMinute: { webpush: 50 } }, sre, 'origin is slow');
    const expected = { ...DEFAULT_DISPATCH_SETTINGS, waveSize: 2000, providerPerMinute: { fcm: 600_000, apns: null, webpush: 50 } };
    expect(result.changed).toBe(true);
    expect(result.after.settings).toEqual(expected);
    expect(result.after.updatedBy).toBe('sre-key');
    expect(await repo.get()).toEqual(expected);
    const changes = await prisma.settingChange.findMany();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      scope: 'dispatch',
      actor: 'sre-key',
      actorKeyId: sre.keyId,
      reason: 'origin is slow',
      old: DEFAULT_DISPATCH_SETTINGS,
      new: expected,
    });
    expect(result.change?.id).toBe(changes[0]!.id);
  });

  it('writes nothing for a patch that changes no value', async () => {
    await repo.update({ batchSize: 100 }, sre);
    const result = await repo.update({ batchSize: 100, waveSize: DEFAULT_DISPATCH_SETTINGS.waveSize }, sre);
    expect(result).toMatchObject({ changed: false, change: null });
    expect(await prisma.settingChange.count()).toBe(1);
  });

  it('refuses a result that breaks a rule, judged on the merged value, and writes nothing', async () => {
    await repo.update({ batchSize: 100, waveSize: 300 }, sre);
    const error = await repo.update({ batchSize: 400 }, sre).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidDispatchSettingsError);
    expect((error as InvalidDispatchSettingsError).errors.map((e) => e.field)).toEqual(['waveSize']);
    expect((await repo.get()).batchSize).toBe(100);
    expect(await prisma.settingChange.count()).toBe(1);
  });

  it('applies 20 concurrent changes: all land, one change row each, none lost', async () => {
    // Every leaf setting once (11 of them), then errorRateMinSample nine more times with values never used before.
    const patches: DispatchSettingsPatch[] = [
      { batchSize: 250 },
      { waveSize: 7000 },
      { intervalSeconds: 30 },
      { globalPerMinute: 100_000 },
      { providerPerMinute: { fcm: 300_000 } },
      { providerPerMinute: { apns: 5000 } },
      { providerPerMinute: { webpush: 2000 } },
      { errorRateThreshold: 0.25 },
      { maxAttempts: 3 },
      { roomPressureLimit: 0.8 },
      ...Array.from({ length: 10 }, (_, i) => ({ errorRateMinSample: 1000 + i })),
    ];
    expect(patches).toHaveLength(20);
    const results = await Promise.all(patches.map((patch, i) => repo.update(patch, { keyId: null, keyName: `sre-${i}` })));
    expect(results.every((r) => r.changed)).toBe(true);

    const final = await repo.get();
    expect(final).toMatchObject({
      batchSize: 250,
      waveSize: 7000,
      intervalSeconds: 30,
      globalPerMinute: 100_000,
      providerPerMinute: { fcm: 300_000, apns: 5000, webpush: 2000 },
      errorRateThreshold: 0.25,
      maxAttempts: 3,
      roomPressureLimit: 0.8,
    });

    const changes = await prisma.settingChange.findMany({ orderBy: { id: 'asc' } });
    expect(changes).toHaveLength(20);
    expect(new Set(changes.map((c) => c.actor)).size).toBe(20);
    // Serialised: each row's old is the previous row's new, from the defaults to the final value, and each row's new
    // is its own patch applied to its old (so no change was computed from a stale value).
    expect(changes[0]!.old).toEqual(DEFAULT_DISPATCH_SETTINGS);
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.old).toEqual(changes[i - 1]!.new);
    for (const change of changes) {
      const patch = patches[Number(change.actor.slice('sre-'.length))]!;
      expect(change.new).toEqual(applyDispatchSettingsPatch(change.old as unknown as DispatchSettings, patch));
    }
    expect(changes[changes.length - 1]!.new).toEqual(final);
    expect(final.errorRateMinSample).toBe((changes[changes.length - 1]!.new as { errorRateMinSample: number }).errorRateMinSample);
  });

  it('records changes of other scopes and lists the log newest first, a page at a time, by scope', async () => {
    await repo.update({ batchSize: 200 }, sre);
    await repo.recordChange('campaign:abc', sre, { waveSize: 10 }, { waveSize: 20 }, 'slower');
    await repo.recordChange('campaign:abc', sre, null, { waveSize: 30 });
    await repo.update({ batchSize: 300 }, sre);

    const first = await repo.listChanges({ limit: 3 });
    expect(first.map((c) => c.scope)).toEqual(['dispatch', 'campaign:abc', 'campaign:abc']);
    expect(first[1]).toMatchObject({ old: null, new: { waveSize: 30 }, reason: null });
    const rest = await repo.listChanges({ limit: 3, before: first[2]!.id });
    expect(rest.map((c) => c.new)).toEqual([expect.objectContaining({ batchSize: 200 })]);
    const scoped = await repo.listChanges({ limit: 10, scope: 'campaign:abc' });
    expect(scoped.map((c) => c.new)).toEqual([{ waveSize: 30 }, { waveSize: 20 }]);
  });

  it("replaces a campaign's wave plan as a compare-and-set, with its change row in the same transaction", async () => {
    const campaigns = new CampaignRepository(prisma);
    const plan = { batchSize: 100, waveSize: 1000, intervalSeconds: 60, rateLimits: null };
    const campaign = await campaigns.create({
      name: 'c',
      message: { title: 't', body: 'b' },
      audience: { deviceIds: ['1'] },
      schedule: { startAt: null, sendWindow: null, quietHours: null },
      wavePlan: plan,
      roomId: null,
      createdBy: 'test',
    });
    const next = { ...plan, waveSize: 2000 };
    const change = { scope: `campaign:${campaign.id}`, actor: sre, old: { waveSize: 1000 }, new: { waveSize: 2000 } };
    // A draft is not among the statuses asked for: nothing written.
    expect(await campaigns.updateWavePlan(campaign.id, ['running'], next, { expected: plan, change })).toMatchObject({ ok: false });
    await prisma.campaign.update({ where: { id: campaign.id }, data: { status: 'running' } });
    // The plan read no longer matches: refused.
    const stale = await campaigns.updateWavePlan(campaign.id, ['running'], next, { expected: { ...plan, waveSize: 5 }, change });
    expect(stale).toMatchObject({ ok: false, campaign: { id: campaign.id } });
    expect(await prisma.settingChange.count()).toBe(0);
    const done = await campaigns.updateWavePlan(campaign.id, ['running', 'paused'], next, { expected: plan, change });
    expect(done).toMatchObject({ ok: true, campaign: { wavePlan: next }, change: { scope: `campaign:${campaign.id}` } });
    expect(await prisma.settingChange.count()).toBe(1);
    expect(await campaigns.updateWavePlan('00000000-0000-4000-8000-000000000000', ['running'], next)).toEqual({
      ok: false,
      campaign: null,
    });

    expect(await campaigns.recordOpen(campaign.id, 'user:u1', 1n)).toBe(true);
    expect(await campaigns.recordOpen(campaign.id, 'user:u1', 2n)).toBe(false);
    expect(await campaigns.recordOpen(campaign.id, 'device:3', 3n)).toBe(true);
    expect(await prisma.campaignOpen.count({ where: { campaignId: campaign.id } })).toBe(2);
  });
});
