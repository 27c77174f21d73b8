import type { RoomSnapshot } from '@tidegate/contracts';
import type { RedisClient } from '@tidegate/redis';
import { RedisKeys } from '@tidegate/redis';
import { parseRoomSnapshot, ROOM_SNAPSHOT_FRESH_MS, RoomSnapshotStore } from './room-snapshot-store';

const snapshot: RoomSnapshot = {
  roomId: 'spring-sale',
  at: 1_000_000,
  tickets: 20,
  serving: 10,
  gone: 2,
  waiting: 8,
  active: 5,
  admittedPerMinute: 60,
  estimatedWaitSeconds: 8,
  oldestTicketAgeSeconds: 3,
  pressure: null,
  queueAll: false,
  suspended: true,
};

/** A Redis stand-in holding string values (the store only uses GET and SET). */
function fakeRedis(): RedisClient & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    get: (key: string) => Promise.resolve(values.get(key) ?? null),
    set: (key: string, value: string) => {
      values.set(key, value);
      return Promise.resolve('OK');
    },
  } as unknown as RedisClient & { values: Map<string, string> };
}

describe('RoomSnapshotStore', () => {
  const keys = new RedisKeys('t');

  it('reads back what it wrote, fresh within ROOM_SNAPSHOT_FRESH_MS of its time and stale after', async () => {
    const redis = fakeRedis();
    let now = snapshot.at + ROOM_SNAPSHOT_FRESH_MS;
    const store = new RoomSnapshotStore(redis, keys, () => now);
    await store.write(snapshot);
    expect(await store.read('spring-sale')).toEqual({ snapshot, fresh: true });
    now += 1;
    expect(await store.read('spring-sale')).toEqual({ snapshot, fresh: false });
    expect(await store.read('other')).toBeNull();
  });

  it('refuses JSON that is not a snapshot', async () => {
    const redis = fakeRedis();
    const store = new RoomSnapshotStore(redis, keys, () => snapshot.at);
    redis.values.set(keys.room('spring-sale').snapshot, '{"roomId":"spring-sale","at":"yesterday"}');
    expect(await store.read('spring-sale')).toBeNull();
    expect(parseRoomSnapshot('not json')).toBeNull();
    expect(parseRoomSnapshot('null')).toBeNull();
    expect(parseRoomSnapshot(JSON.stringify({ ...snapshot, pressure: 'high' }))).toBeNull();
    expect(parseRoomSnapshot(JSON.stringify({ ...snapshot, suspended: undefined }))).toBeNull();
    expect(parseRoomSnapshot(JSON.stringify({ ...snapshot, extra: 1 }))).toEqual(snapshot);
  });
});

describe('parseRoomSnapshot: origin health', () => {
  const origin = {
    healthy: false,
    since: 999_000,
    reason: 'errors',
    requests: 40,
    p50Ms: 12,
    p95Ms: 90,
    p99Ms: 240,
    errorRate: 0.5,
    admissionFactor: 0.25,
  };

  it('keeps the origin health a gateway published', () => {
    expect(parseRoomSnapshot(JSON.stringify({ ...snapshot, origin }))).toEqual({ ...snapshot, origin });
  });

  it('reads a snapshot without origin health (an older gateway) as it is: readers take it as healthy', () => {
    const parsed = parseRoomSnapshot(JSON.stringify(snapshot));
    expect(parsed).toEqual(snapshot);
    expect(parsed).not.toHaveProperty('origin');
  });

  it('drops a malformed origin health but keeps the rest of the snapshot', () => {
    const parsed = parseRoomSnapshot(JSON.stringify({ ...snapshot, origin: { ...origin, healthy: 'no' } }));
    expect(parsed).toEqual(snapshot);
  });
});
