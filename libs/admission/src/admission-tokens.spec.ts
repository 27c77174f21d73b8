import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { AdmissionTokenError, AdmissionTokens, roomAudience } from './admission-tokens';

const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

async function problemOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AdmissionTokenError) return err.problem;
    throw err;
  }
  return 'accepted';
}

describe('AdmissionTokens', () => {
  let tokens: AdmissionTokens;
  const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

  beforeAll(async () => {
    tokens = await AdmissionTokens.fromPem(pem());
  });

  it('signs tokens an origin can verify with the published JWKS alone', async () => {
    const token = await tokens.sign({ roomId: 'shop', sessionId: 't42', expiresAt: inAnHour() });
    const jwks = createLocalJWKSet(tokens.jwks());
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: 'tidegate', audience: roomAudience('shop') });
    expect(payload).toMatchObject({ sub: 't42', room: 'shop' });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: tokens.keyId });
    expect(tokens.jwks().keys[0]).not.toHaveProperty('d');
  });

  it('verifies its own tokens for the right room only', async () => {
    const token = await tokens.sign({ roomId: 'shop', sessionId: 's1', expiresAt: inAnHour() });
    await expect(tokens.verify(token, 'shop')).resolves.toMatchObject({ sessionId: 's1', roomId: 'shop' });
    expect(await problemOf(tokens.verify(token, 'other'))).toBe('other_room');
  });

  it('refuses expired, forged and foreign tokens', async () => {
    const expired = await tokens.sign({ roomId: 'shop', sessionId: 's1', expiresAt: Math.floor(Date.now() / 1000) - 10 });
    expect(await problemOf(tokens.verify(expired, 'shop'))).toBe('expired');
    const foreign = await (await AdmissionTokens.fromPem(pem())).sign({ roomId: 'shop', sessionId: 's1', expiresAt: inAnHour() });
    expect(await problemOf(tokens.verify(foreign, 'shop'))).toBe('invalid');
    const genuine = await tokens.sign({ roomId: 'shop', sessionId: 's1', expiresAt: inAnHour() });
    const [h, p, s] = genuine.split('.') as [string, string, string];
    const tampered = [
      h,
      Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 's2' })).toString('base64url'),
      s,
    ].join('.');
    expect(await problemOf(tokens.verify(tampered, 'shop'))).toBe('invalid');
    expect(await problemOf(tokens.verify('not.a.jwt', 'shop'))).toBe('invalid');
  });

  it('accepts only P-256 keys', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(AdmissionTokens.fromPem(rsa)).rejects.toThrow(/P-256/);
  });
});
