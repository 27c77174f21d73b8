/**
 * A campaign split into dispatch partitions, against real Redis (standalone here, a 6-node Cluster under
 * `npm run test:cluster`): each partition's script runs in its own slot, and every reader merges them.
 */
import { randomUUID } from 'node:crypto';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { readCampaignStats } from './campaign-stats';
import { partitionIn, partitionOf, type Partition } from './dispatch-partitions';
import { DispatchStore, isCampaignDone, type RecordedOutcome, type RecordSummary } from './dispatch-store';

const OF = 4;
const WINDOW = 2000;

// Block 1: a campaign pinned before blocks (partition id mod 4); block 2: the layout by blocks of consecutive ids, its
// blocks small enough that ids 1…12 spread over every partition.
describe.each([1, 2])('DispatchStore with partitions (Redis), blocks of %i ids', (BLOCK) => {
  const LAYOUT = { of: OF, block: BLOCK };
  const inPartition = (index: number) => partitionIn(index, LAYOUT);
  let redis: TestRedis;
  let store: DispatchStore;

  beforeAll(async () => {
    redis = await createTestRedis();
    store = new DispatchStore(redis.client, redis.keys);
  });
  afterAll(() => redis.cleanup());

  const sent = (deviceId: string): RecordedOutcome => ({ deviceId, outcome: 'sent', provider: 'fcm' });
  const failed = (deviceId: string, outcome: 'failed' | 'failed_transient' = 'failed'): RecordedOutcome => ({ deviceId, outcome });
  const part = (deviceId: string): Partition => inPartition(partitionOf(deviceId, OF, BLOCK));
  /** Ids 1…n grouped by partition, as the planner cuts batches. */
  const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));

  async function pinned(): Promise<string> {
    const c = randomUUID();
    expect(await store.pinPartitions(c, OF, BLOCK)).toEqual(LAYOUT);
    return c;
  }

  it('pins the count once; a campaign counted before partitions existed stays in one', async () => {
    const c = await pinned();
    expect(await store.pinPartitions(c, 16)).toEqual(LAYOUT);
    expect(await store.partitionsOf(c)).toBe(OF);
    expect(await store.layoutOf(c)).toEqual(LAYOUT);
    const legacy = randomUUID();
    await store.planned(legacy, 1, 10, false);
    expect(await store.pinPartitions(legacy, 16)).toEqual({ of: 1, block: 1 });
    expect(await store.partitionsOf(randomUUID())).toBe(1);
    await expect(store.pinPartitions(randomUUID(), 0)).rejects.toThrow(/invalid partition count/);
  });

  it('counts each device once in its partition, merges the totals, finishes the wave and completes on the last batch', async () => {
    const c = await pinned();
    const all = ids(10);
    await store.planned(c, 1, all.length, true, 1000);
    let last: RecordSummary | undefined;
    for (let p = 0; p < OF; p++) {
      const batch = all.filter((id) => partitionOf(id, OF, BLOCK) === p);
      // Twice: a retried batch counts nothing the second time. The wave is finished by the last partition's first
      // record, once.
      const first = await store.record(c, 1, batch.map(sent), WINDOW, 2000 + p, inPartition(p));
      expect(first.finishedWave).toBe(p === OF - 1);
      last = await store.record(c, 1, batch.map(sent), WINDOW, 2000 + p, inPartition(p));
      expect(last).toMatchObject({ counted: 0, finishedWave: false });
      if (p < OF - 1) expect(isCampaignDone(last)).toBe(false);
    }
    expect(last).toMatchObject({ settled: 10, targeted: 10, lastWave: 1, recentTotal: 10, recentFailed: 0 });
    expect(last && isCampaignDone(last)).toBe(true);
    expect(await store.summary(c)).toEqual({ settled: 10, targeted: 10, lastWave: 1 });
    expect(await store.waveProgress(c, 1)).toEqual({ targeted: 10, settled: 10, holding: 0 });
    const stats = await readCampaignStats(redis.client, redis.keys, c);
    expect(stats).toMatchObject({ targeted: 10, sent: 10, by_provider: { fcm: 10 } });
    expect(stats?.waves[0]).toMatchObject({ wave: 1, targeted: 10, sent: 10, finished_at: new Date(2000 + OF - 1) });
    expect(await store.progressAt(c)).toBe(2000 + OF - 1);
    // The ledger: nothing left to send, in any partition.
    expect(await store.unsettled(c, all)).toEqual([]);
    const sends = await store.sendsSince(c, 0);
    expect(sends).toEqual([{ second: 2, count: 10 }]);
  });

  it('a wave recorded before it was counted finishes when the planner counts it', async () => {
    const c = await pinned();
    const all = ids(6);
    for (let p = 0; p < OF; p++) {
      await store.record(c, 1, all.filter((id) => partitionOf(id, OF, BLOCK) === p).map(sent), WINDOW, 500, inPartition(p));
    }
    expect(await store.planned(c, 1, 6, true, 900)).toEqual({ settled: 6, targeted: 6, lastWave: 1 });
    expect((await store.stats(c))['w1:finished_at']).toBe('900');
  });

  it('reads the ledger of mixed ids per partition, and reopens failures in their own partitions', async () => {
    const c = await pinned();
    const all = ids(12);
    await store.planned(c, 1, all.length, true, 1000);
    // Without a partition the store splits the outcomes itself.
    await store.record(
      c,
      1,
      all.map((id) => (Number(id) % 3 === 0 ? failed(id, 'failed_transient') : sent(id))),
      WINDOW,
      1100,
    );
    expect(await store.unsettled(c, ['3', '4', '99'])).toEqual(['99']);
    expect(await store.hasFailures(c, 'transient')).toBe(true);
    expect(await store.summary(c)).toEqual({ settled: 12, targeted: 12, lastWave: 1 });
    expect((await store.stats(c))['w1:finished_at']).toBe('1100');

    expect(await store.reopen(c, 1, 'transient', all)).toEqual(['3', '6', '9', '12']);
    expect(await store.reopen(c, 1, 'transient', all)).toEqual([]);
    expect(await store.hasFailures(c, 'transient')).toBe(false);
    expect(await store.unsettled(c, all)).toEqual(['3', '6', '9', '12']);
    expect(await store.summary(c)).toEqual({ settled: 8, targeted: 12, lastWave: 1 });
    const reopened = await store.stats(c);
    expect(reopened['w1:finished_at']).toBeUndefined();
    expect(reopened).toMatchObject({ failed: '0', resent: '4', sent: '8' });

    let summary: RecordSummary | undefined;
    for (const id of ['3', '6', '9', '12']) summary = await store.record(c, 1, [sent(id)], WINDOW, 1200, part(id));
    expect(summary && isCampaignDone(summary)).toBe(true);
    expect((await readCampaignStats(redis.client, redis.keys, c))?.sent).toBe(12);
  });

  it('merges the guards’ window over the partitions, and resets every partition’s', async () => {
    const c = await pinned();
    await store.planned(c, 1, 40, true, 1000);
    const summary = await store.record(
      c,
      1,
      ids(40).map((id) => failed(id)),
      WINDOW,
      1000,
    );
    expect(summary).toMatchObject({ recentTotal: 40, recentFailed: 40 });
    // Each provider's window is merged too: 30 APNs answers retried over the partitions, 10 FCM sent.
    const apns = (deviceId: string): RecordedOutcome => ({ deviceId, outcome: 'retrying', provider: 'apns' });
    const split = await store.record(
      c,
      1,
      [...ids(30).map(apns), ...['41', '42', '43', '44', '45', '46', '47', '48', '49', '50'].map(sent)],
      WINDOW,
      1000,
    );
    expect(split.byProvider).toEqual({
      apns: { recentTotal: 30, recentFailed: 30, recentInvalid: 0 },
      fcm: { recentTotal: 10, recentFailed: 0, recentInvalid: 0 },
    });
    expect(split).toMatchObject({ recentTotal: 80, recentFailed: 70 });
    await store.newGuardWindows(c);
    const after = await store.record(c, 1, [sent('51')], WINDOW, 1000, part('51'));
    expect(after).toMatchObject({
      recentTotal: 1,
      recentFailed: 0,
      byProvider: { fcm: { recentTotal: 1, recentFailed: 0, recentInvalid: 0 } },
    });
    const apnsAfter = await store.record(c, 1, [apns('52')], WINDOW, 1000);
    expect(apnsAfter.byProvider).toEqual({ apns: { recentTotal: 1, recentFailed: 1, recentInvalid: 0 } });
  });
});
