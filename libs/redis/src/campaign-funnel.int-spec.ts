/**
 * The funnel's scripts against real Redis (standalone here, a Cluster under `npm run test:cluster`): each device
 * counts once, a replay from another presenter counts nothing but `replayed`, another room counts nothing, and an
 * attributed waiting visitor counts as admitted once, with the time in queue.
 */
import { randomUUID } from 'node:crypto';
import { funnelBucketOf } from '@tidegate/domain';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { FunnelStore, type WaveOpen } from './campaign-funnel';

describe('FunnelStore (Redis)', () => {
  let redis: TestRedis;
  let store: FunnelStore;

  beforeAll(async () => {
    redis = await createTestRedis();
    store = new FunnelStore(redis.client, redis.keys);
  });
  afterAll(() => redis.cleanup());

  const open = (campaignId: string, o: Partial<WaveOpen> = {}): WaveOpen => ({
    campaignId,
    wave: 1,
    deviceId: '17',
    roomId: 'shop',
    presenter: 'aaaa',
    openDelayMs: 30_000,
    arrival: 'queued',
    ...o,
  });

  it('counts a device once, per wave, with its open delay', async () => {
    const c = randomUUID();
    await store.bindRoom(c, 'shop');
    expect(await store.open(open(c))).toBe('counted');
    expect(await store.open(open(c))).toBe('seen');
    expect(await store.open(open(c, { arrival: 'admitted' }))).toBe('seen');
    expect(await store.open(open(c, { deviceId: '18', wave: 2, arrival: 'admitted', openDelayMs: 2000 }))).toBe('counted');
    expect(await store.open(open(c, { deviceId: '19', wave: 2, arrival: 'none' }))).toBe('counted');
    const f = await store.read(c);
    expect(f).toMatchObject({ opened: 3, queued: 2, admitted: 1, replayed: 0 });
    expect(f.waves).toEqual([
      { wave: 1, opened: 1, queued: 1, admitted: 0 },
      { wave: 2, opened: 2, queued: 1, admitted: 1 },
    ]);
    expect(f.openDelayMs[funnelBucketOf(30_000)]).toBe(2);
    expect(f.openDelayMs[funnelBucketOf(2000)]).toBe(1);
    expect(f.queueMs[funnelBucketOf(0)]).toBe(1);
    expect((await store.openDelays(c)).samples).toBe(3);
    expect(await redis.client.sismember(redis.keys.dispatchDirty, c)).toBe(1);
  });

  it('tells a replay from another presenter, and counts nothing else for it', async () => {
    const c = randomUUID();
    await store.bindRoom(c, 'shop');
    expect(await store.open(open(c, { presenter: 'first' }))).toBe('counted');
    expect(await store.open(open(c, { presenter: 'other' }))).toBe('replay');
    // Without X-Device-Id the presenter cannot be told apart: nothing new, not a replay.
    expect(await store.open(open(c, { presenter: '' }))).toBe('seen');
    expect(await store.open(open(c, { presenter: 'first' }))).toBe('seen');
    expect(await store.read(c)).toMatchObject({ opened: 1, queued: 1, admitted: 0, replayed: 1 });
  });

  it('counts nothing in a room that is not the campaign’s, nor for a campaign with no room', async () => {
    const c = randomUUID();
    await store.bindRoom(c, 'shop');
    expect(await store.open(open(c, { roomId: 'elsewhere' }))).toBe('other_room');
    const roomless = randomUUID();
    expect(await store.open(open(roomless))).toBe('other_room');
    expect(await store.read(c)).toMatchObject({ opened: 0, queued: 0 });
    // The device was not marked: in the campaign's own room it still counts.
    expect(await store.open(open(c))).toBe('counted');
  });

  it('counts an attributed waiting visitor admitted once, with the time in queue', async () => {
    const c = randomUUID();
    await store.bindRoom(c, 'shop');
    expect(await store.open(open(c, { wave: 4 }))).toBe('counted');
    await store.rememberQueued('shop', 41, c, 4, 1_000_000);
    expect(await store.admitted('shop', 41, 1_045_000)).toBe(c);
    expect(await store.admitted('shop', 41, 1_046_000)).toBeNull();
    expect(await store.admitted('shop', 42, 1_046_000)).toBeNull();
    const f = await store.read(c);
    expect(f).toMatchObject({ opened: 1, queued: 1, admitted: 1 });
    expect(f.waves).toEqual([{ wave: 4, opened: 1, queued: 1, admitted: 1 }]);
    expect(f.queueMs[funnelBucketOf(45_000)]).toBe(1);
  });
});
