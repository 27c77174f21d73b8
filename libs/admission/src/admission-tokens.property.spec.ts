/** Properties of admission tokens against arbitrary, forged and mutated strings (fast-check; the seed prints on failure). */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { AdmissionTokenError, AdmissionTokens } from './admission-tokens';

const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const char = fc.oneof(fc.constantFrom(...'.-_0123456789azAZ'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }));

describe('admission tokens, property-based', () => {
  let tokens: AdmissionTokens;
  let other: AdmissionTokens;
  let genuine: string;
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;

  beforeAll(async () => {
    [tokens, other] = await Promise.all([AdmissionTokens.fromPem(pem()), AdmissionTokens.fromPem(pem())]);
    genuine = await tokens.sign({ roomId: 'shop', sessionId: 's1', expiresAt });
  });

  /** Verifies; an AdmissionTokenError is a refusal, anything else thrown escapes (and fails the property). */
  async function refused(value: string, roomId = 'shop'): Promise<boolean> {
    try {
      await tokens.verify(value, roomId);
      return false;
    } catch (err) {
      if (err instanceof AdmissionTokenError) return true;
      throw err;
    }
  }

  it('refuses arbitrary strings and JWT-shaped junk with an AdmissionTokenError', async () => {
    const segment = fc.string({ maxLength: 60 }).map((s) => Buffer.from(s).toString('base64url'));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300, unit: 'binary' }),
          fc.tuple(segment, segment, segment).map((p) => p.join('.')),
        ),
        async (value) => expect(await refused(value)).toBe(true),
      ),
      { numRuns: 500 },
    );
  });

  it('refuses the genuine token with one character changed, added or removed, and in another room', async () => {
    expect(await tokens.verify(genuine, 'shop')).toEqual({ roomId: 'shop', sessionId: 's1', expiresAt });
    expect(await refused(genuine, 'other')).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.nat(), char, fc.constantFrom('replace', 'insert', 'delete'), async (at, c, how) => {
        const i = at % genuine.length;
        const mutated =
          how === 'replace'
            ? genuine.slice(0, i) + c + genuine.slice(i + 1)
            : how === 'insert'
              ? genuine.slice(0, i) + c + genuine.slice(i)
              : genuine.slice(0, i) + genuine.slice(i + 1);
        fc.pre(mutated !== genuine);
        expect(await refused(mutated)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses tokens signed with another key, whatever they claim', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), async (sessionId) => {
        expect(await refused(await other.sign({ roomId: 'shop', sessionId, expiresAt }))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
