/** The throttle script (throttle-1.lua) on real Redis: standalone, and Redis Cluster under `npm run test:cluster`. */
import { createTestRedis, type TestRedis } from '../../../../test/support/redis';
import { defineScript, loadScript, type ScriptCall } from '../scripts';

type Reply = [hits: number, ttlMs: number, blocked: number, blockTtlMs: number];

/** Polls until `check` holds; fails after `timeoutMs` (a bound, not an expectation of speed). */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('throttle-1.lua', () => {
  let redis: TestRedis;
  let throttle: ScriptCall<Reply>;
  let n = 0;
  /** A fresh client key per test, so tests never share a counter. */
  const client = () => redis.keys.throttle('default', `client-${++n}`);
  const hit = (key: string, windowMs: number, limit: number, blockMs = 0) => throttle([key], [windowMs, limit, blockMs]);

  beforeAll(async () => {
    redis = await createTestRedis();
    throttle = defineScript<Reply>(redis.client, 'testThrottle', 'throttle-1.lua');
  });
  afterAll(() => redis.cleanup());

  it('loads by name with or without the extension, and refuses names without a key count', () => {
    expect(loadScript('throttle-1')).toBe(loadScript('throttle-1.lua'));
    expect(loadScript('throttle-1')).toContain('Output:');
    expect(() => loadScript('throttle')).toThrow(/<numberOfKeys>/);
    expect(() => loadScript('../keys-1')).toThrow(/invalid Lua script name/);
    // A call with the wrong number of keys is rejected before it reaches Redis.
    return expect(throttle([], [1000, 1, 0])).rejects.toThrow(/takes 1 keys, got 0/);
  });

  it('counts requests and refuses those over the limit until the window ends', async () => {
    const key = client();
    const replies: Reply[] = [];
    for (let i = 0; i < 5; i++) replies.push(await hit(key, 60_000, 3));
    expect(replies.map((r) => [r[0], r[2]])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 1],
      [5, 1],
    ]);
    for (const [, ttlMs] of replies) {
      expect(ttlMs).toBeGreaterThan(0);
      expect(ttlMs).toBeLessThanOrEqual(60_000);
    }
    const [, ttlMs, , blockTtlMs] = replies[3]!;
    expect(blockTtlMs).toBe(ttlMs); // without a block, refused until the window ends
    expect(replies[0]![3]).toBe(0);
    // One key per client, expiring with the window.
    const pttl = await redis.client.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60_000);
  });

  it('starts a new window once the old one has expired', async () => {
    const key = client();
    expect((await hit(key, 1000, 2))[2]).toBe(0);
    expect((await hit(key, 1000, 2))[2]).toBe(0);
    expect((await hit(key, 1000, 2))[2]).toBe(1);
    // Wait (bounded) for the key to expire, then the next request counts as the first of a new window.
    await eventually(async () => (await redis.client.exists(key)) === 0, 10_000, 'the window to expire');
    const [hits, ttlMs, blocked] = await hit(key, 1000, 2);
    expect([hits, blocked]).toEqual([1, 0]);
    expect(ttlMs).toBe(1000);
  });

  it('blocks for the block duration after the limit is exceeded, without extending it on retries', async () => {
    const key = client();
    await hit(key, 1000, 1, 60_000);
    const [hits, ttlMs, blocked, blockTtlMs] = await hit(key, 1000, 1, 60_000);
    expect([hits, blocked]).toEqual([2, 1]);
    expect(blockTtlMs).toBeGreaterThan(1000); // longer than what was left of the 1 s window
    expect(blockTtlMs).toBeLessThanOrEqual(60_000);
    expect(ttlMs).toBe(blockTtlMs);
    // Past the original 1 s window the client is still refused (the block has ~59 s left), and retries do not push
    // the block further.
    await new Promise((r) => setTimeout(r, 1100));
    const retry = await hit(key, 1000, 1, 60_000);
    expect(retry[2]).toBe(1);
    expect(retry[3]).toBeLessThan(blockTtlMs);
  });

  it('lifts the block when it expires, and the client starts a new window', async () => {
    const key = client();
    await hit(key, 500, 1, 1000);
    expect((await hit(key, 500, 1, 1000))[2]).toBe(1);
    await eventually(async () => (await redis.client.exists(key)) === 0, 10_000, 'the block to expire');
    expect(await hit(key, 500, 1, 1000)).toEqual([1, 500, 0, 0]);
  });

  it('keeps the window when the block is shorter than what is left of it', async () => {
    const key = client();
    await hit(key, 60_000, 1, 1000);
    const [, ttlMs, blocked, blockTtlMs] = await hit(key, 60_000, 1, 1000);
    expect(blocked).toBe(1);
    expect(ttlMs).toBeGreaterThan(1000);
    expect(blockTtlMs).toBe(ttlMs);
  });

  it('restarts the window of a counter that lost its expiry, instead of throttling forever', async () => {
    const key = client();
    await redis.client.set(key, '1');
    const [hits, ttlMs, blocked] = await hit(key, 60_000, 5);
    expect([hits, ttlMs, blocked]).toEqual([2, 60_000, 0]);
    expect(await redis.client.pttl(key)).toBeGreaterThan(0);
  });

  it('counts clients independently', async () => {
    const [a, b] = [client(), client()];
    await hit(a, 60_000, 1);
    expect((await hit(a, 60_000, 1))[2]).toBe(1);
    expect(await hit(b, 60_000, 1)).toEqual([1, 60_000, 0, 0]);
  });

  it('allows exactly `limit` of 200 concurrent requests', async () => {
    const key = client();
    const replies = await Promise.all(Array.from({ length: 200 }, () => hit(key, 60_000, 37)));
    expect(replies.filter((r) => r[2] === 0)).toHaveLength(37);
    expect(replies.map((r) => r[0]).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('allows exactly `limit` of 200 concurrent requests with a block set once', async () => {
    const key = client();
    const replies = await Promise.all(Array.from({ length: 200 }, () => hit(key, 1000, 10, 30_000)));
    expect(replies.filter((r) => r[2] === 0)).toHaveLength(10);
    const blocked = replies.filter((r) => r[2] === 1);
    expect(blocked.every((r) => r[3] > 1000 && r[3] <= 30_000)).toBe(true);
  });
});
