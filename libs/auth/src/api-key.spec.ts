import { apiKeyPrefix, generateApiKey, hashApiKey, roleSatisfies, verifyApiKey } from './api-key';
import { extractApiKey } from './api-key.guard';

describe('API keys', () => {
  it('generates distinct keys whose prefix and hash match', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).not.toBe(b.key);
    expect(a.key).toMatch(/^tg_[A-Za-z0-9]{8}_[A-Za-z0-9]{40}$/);
    expect(apiKeyPrefix(a.key)).toBe(a.prefix);
    expect(a.hash).toBe(hashApiKey(a.key));
    expect(a.hash).not.toContain(a.key);
  });

  it('verifies only the exact key', () => {
    const { key, hash } = generateApiKey();
    expect(verifyApiKey(key, hash)).toBe(true);
    expect(verifyApiKey(`${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}`, hash)).toBe(false);
    expect(verifyApiKey(key, 'not-hex')).toBe(false);
  });

  it('rejects malformed keys before any look-up', () => {
    expect(apiKeyPrefix('tg_short_x')).toBeNull();
    expect(apiKeyPrefix('Bearer tg_abcdefgh_' + 'x'.repeat(32))).toBeNull();
    expect(apiKeyPrefix('')).toBeNull();
  });

  it('orders roles: sre > marketer > viewer', () => {
    expect(roleSatisfies('sre', 'marketer')).toBe(true);
    expect(roleSatisfies('marketer', 'marketer')).toBe(true);
    expect(roleSatisfies('marketer', 'sre')).toBe(false);
    expect(roleSatisfies('viewer', 'marketer')).toBe(false);
    expect(roleSatisfies('viewer', 'viewer')).toBe(true);
  });

  it('reads the key from Authorization: Bearer or X-API-Key', () => {
    expect(extractApiKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(extractApiKey({ authorization: 'bearer  abc ' })).toBe('abc');
    expect(extractApiKey({ 'x-api-key': ' abc ' })).toBe('abc');
    expect(extractApiKey({ authorization: 'Basic abc' })).toBeNull();
    expect(extractApiKey({})).toBeNull();
  });
});
