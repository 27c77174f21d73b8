import calculateSlot from 'cluster-key-slot';
import { RedisKeys } from './keys';

describe('RedisKeys', () => {
  const keys = new RedisKeys('tidegate');

  it('puts every key of a room in one Cluster slot, and different rooms apart', () => {
    const room = keys.room('spring-sale');
    const all = Object.values(room).map((k) => (typeof k === 'function' ? (k as (id: number | string) => string)(42) : k));
    const slots = new Set(all.map((k) => calculateSlot(k)));
    expect(slots.size).toBe(1);
    expect(room.tickets).toBe('tidegate:{room:spring-sale}:tickets');
    expect(calculateSlot(keys.room('other').tickets)).not.toBe(calculateSlot(room.tickets));
  });

  it('puts every key of a campaign in one slot', () => {
    const campaign = keys.campaign('0b6c3f4e-1d2a-4c1e-9a57-3f1f2b7d9c10');
    expect(new Set(Object.values(campaign).map((k) => calculateSlot(k))).size).toBe(1);
  });

  it('gives BullMQ a hash-tagged prefix under the deployment prefix', () => {
    expect(new RedisKeys('test-abc').bullPrefix).toBe('test-abc:{bull}');
  });

  it('refuses ids that would break the hash tag or the key space', () => {
    expect(() => keys.room('a}b')).toThrow(/invalid room id/);
    expect(() => keys.room('')).toThrow();
    expect(() => keys.campaign('x y')).toThrow(/invalid campaign id/);
    expect(() => new RedisKeys('a{b}')).toThrow(/prefix/);
  });

  it('keeps prefixes apart, so test files never see each other', () => {
    expect(new RedisKeys('a').room('r').config).not.toBe(new RedisKeys('b').room('r').config);
    expect(new RedisKeys('a').room('r').config.startsWith('a:')).toBe(true);
  });
});
