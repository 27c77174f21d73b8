import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { APNS_TOKEN_MIN_AGE_MS, ApnsProviderToken } from './apns-token';

const MINUTE = 60_000;

function setup(refreshAfterMs?: number) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let now = Date.UTC(2026, 0, 1);
  const tokens = new ApnsProviderToken({
    teamId: 'TEAM123456',
    keyId: 'KEY1234567',
    signingKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    clock: () => now,
    ...(refreshAfterMs !== undefined && { refreshAfterMs }),
  });
  return { tokens, publicKey: createPublicKey(privateKey), advance: (ms: number) => (now += ms), now: () => now };
}

describe('ApnsProviderToken', () => {
  it('signs an ES256 JWT with kid, iss = team id and iat', async () => {
    const { tokens, publicKey, now } = setup();
    const jwt = await tokens.current();
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: 'KEY1234567' });
    const { payload } = await jwtVerify(jwt, publicKey, { currentDate: new Date(now()) });
    expect(payload).toEqual({ iss: 'TEAM123456', iat: Math.floor(now() / 1000) });
  });

  it('reuses one token until the refresh age (40 minutes by default), then signs a new one', async () => {
    const { tokens, advance } = setup();
    const first = await tokens.current();
    advance(39 * MINUTE);
    expect(await tokens.current()).toBe(first);
    advance(MINUTE);
    const second = await tokens.current();
    expect(second).not.toBe(first);
    expect(tokens.generated).toBe(2);
  });

  it('signs once for many concurrent callers', async () => {
    const { tokens } = setup();
    const all = await Promise.all(Array.from({ length: 20 }, () => tokens.current()));
    expect(new Set(all).size).toBe(1);
    expect(tokens.generated).toBe(1);
  });

  it('renews an expired token only when it is at least 20 minutes old, and only once for concurrent rejections', async () => {
    const { tokens, advance } = setup();
    const first = await tokens.current();
    advance(APNS_TOKEN_MIN_AGE_MS - 1);
    expect(await tokens.renew(first)).toBeUndefined();
    advance(1);
    const renewed = await Promise.all([tokens.renew(first), tokens.renew(first), tokens.renew(first)]);
    expect(new Set(renewed).size).toBe(1);
    expect(renewed[0]).not.toBe(first);
    expect(await tokens.renew(first)).toBe(renewed[0]);
    expect(tokens.generated).toBe(2);
  });

  it('refuses a refresh age outside Apple rule and keys that are not P-256', () => {
    expect(() => setup(19 * MINUTE)).toThrow(/20 minutes/);
    expect(() => setup(60 * MINUTE)).toThrow(/under 60/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => new ApnsProviderToken({ teamId: 't', keyId: 'k', signingKey: rsa, clock: Date.now })).toThrow(/P-256/);
  });
});
