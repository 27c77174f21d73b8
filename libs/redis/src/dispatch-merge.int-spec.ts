/** atOnce against real Redis (standalone here, a Cluster under `npm run test:cluster`): the replies in order, as sent. */
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { atOnce, type Command } from './dispatch-merge';

describe('atOnce (Redis)', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await createTestRedis();
  });
  afterAll(() => redis.cleanup());

  it('answers reads that are all HMGETs (folded into one script call on a standalone server) as the commands would', async () => {
    const key = (name: string) => `${redis.prefix}:{merge}:${name}`;
    await redis.client.hset(key('a'), { x: '1', y: '2' });
    await redis.client.hset(key('b'), { y: '20', z: '' });
    const reads: Command[] = [
      ['hmget', key('a'), 'x', 'y', 'missing'],
      ['hmget', key('b'), 'y', 'z'],
      ['hmget', key('nothing'), 'x'],
      ['hmget', key('a'), 'y'],
    ];
    const one: unknown[] = [];
    for (const [, k, ...fields] of reads) one.push(await redis.client.hmget(k as string, ...(fields as string[])));
    expect(one).toEqual([['1', '2', null], ['20', ''], [null], ['2']]);
    // After writes in the same call, which the reads see.
    const replies = await atOnce(redis.client, [['hset', key('b'), 'w', '5']], [...reads, ['hmget', key('b'), 'w']]);
    expect(replies).toEqual([1, ...one, ['5']]);
    // One read alone, and reads that are not all HMGETs, go as they are.
    expect(await atOnce(redis.client, [], [reads[0] as Command])).toEqual([one[0]]);
    expect(await atOnce(redis.client, [], [reads[1] as Command, ['hget', key('a'), 'x']])).toEqual([one[1], '1']);
  });
});
