import { AdmissionTokenError, AdmissionTokens, type Admission } from '@tidegate/admission';
import { generateKeyPairSync } from 'node:crypto';
import { VerifiedTokens } from './verified-tokens';

const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('VerifiedTokens', () => {
  let tokens: AdmissionTokens;
  let now = Date.now();
  let calls = 0;
  const counted = (t: string, r: string) => {
    calls++;
    return tokens.verify(t, r);
  };
  const sign = (roomId: string, sessionId: string, expiresAt: number) => tokens.sign({ roomId, sessionId, expiresAt });
  const inSeconds = (s: number) => Math.floor(now / 1000) + s;

  beforeAll(async () => {
    tokens = await AdmissionTokens.fromPem(pem());
  });

  beforeEach(() => {
    now = Date.now();
    calls = 0;
  });

  it('verifies a token once while it is valid, and answers as the verifier did', async () => {
    const cache = new VerifiedTokens(counted, 10, () => now);
    const token = await sign('demo', 's1', inSeconds(60));
    const first = await cache.verify(token, 'demo');
    expect(await cache.verify(token, 'demo')).toEqual(first);
    expect(first).toEqual<Admission>({ roomId: 'demo', sessionId: 's1', expiresAt: inSeconds(60) });
    expect(calls).toBe(1);
  });

  it('sends a token of another room and a bad one to the verifier every time', async () => {
    const cache = new VerifiedTokens(counted, 10, () => now);
    const token = await sign('demo', 's1', inSeconds(60));
    await cache.verify(token, 'demo');
    await expect(cache.verify(token, 'other')).rejects.toMatchObject({ problem: 'other_room' });
    await expect(cache.verify(token, 'other')).rejects.toBeInstanceOf(AdmissionTokenError);
    const forged = `${token.slice(0, -4)}AAAA`;
    await expect(cache.verify(forged, 'demo')).rejects.toMatchObject({ problem: 'invalid' });
    await expect(cache.verify(forged, 'demo')).rejects.toMatchObject({ problem: 'invalid' });
    expect(calls).toBe(5);
    expect(await cache.verify(token, 'demo')).toMatchObject({ sessionId: 's1' });
    expect(calls).toBe(5);
  });

  it('sends a token to the verifier again from its expiry second on (when jose calls it expired)', async () => {
    const expiresAt = inSeconds(2);
    const verifier = jest.fn((_t: string, roomId: string) => Promise.resolve<Admission>({ roomId, sessionId: 's1', expiresAt }));
    const cache = new VerifiedTokens(verifier, 10, () => now);
    await cache.verify('t', 'demo');
    now = expiresAt * 1000 - 1;
    await cache.verify('t', 'demo');
    expect(verifier).toHaveBeenCalledTimes(1);
    now = expiresAt * 1000;
    await cache.verify('t', 'demo');
    expect(verifier).toHaveBeenCalledTimes(2);
  });

  it('keeps at most its bound, the oldest leaving first', async () => {
    const cache = new VerifiedTokens(counted, 2, () => now);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((s) => sign('demo', s, inSeconds(60))));
    for (const t of [a, b, c]) await cache.verify(t as string, 'demo');
    expect(cache.size).toBe(2);
    await cache.verify(c as string, 'demo');
    await cache.verify(b as string, 'demo');
    expect(calls).toBe(3);
    await cache.verify(a as string, 'demo');
    expect(calls).toBe(4);
  });
});
