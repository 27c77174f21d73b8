/**
 * Admission tokens: ES256 JWTs that say "this session was admitted to this room until exp". The public key is
 * published as a JWKS (`/.well-known/jwks.json`), so an origin can verify tokens itself without calling Tidegate.
 * Claims: iss "tidegate", aud "tidegate:room:<id>", sub = session id, room, exp, iat, and kid in the header.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, jwtVerify, type JWK } from 'jose';

export const TOKEN_ISSUER = 'tidegate';
export const roomAudience = (roomId: string) => `tidegate:room:${roomId}`;

export interface Admission {
  roomId: string;
  sessionId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export type TokenProblem = 'invalid' | 'expired' | 'other_room';

export class AdmissionTokenError extends Error {
  constructor(readonly problem: TokenProblem) {
    super(
      { invalid: 'invalid admission token', expired: 'the admission token expired', other_room: 'the token is for another room' }[problem],
    );
    this.name = 'AdmissionTokenError';
  }
}

export class AdmissionTokens {
  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    private readonly publicJwk: JWK,
  ) {}

  /** From a PKCS#8 PEM private key on the P-256 curve (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`). */
  static async fromPem(pem: string): Promise<AdmissionTokens> {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('the admission signing key must be an EC P-256 private key (ES256)');
    }
    const publicKey = createPublicKey(privateKey);
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    return new AdmissionTokens(privateKey, publicKey, { ...jwk, kid, alg: 'ES256', use: 'sig' });
  }

  get keyId(): string {
    return this.publicJwk.kid ?? '';
  }

  /** The JSON Web Key Set an origin verifies tokens with. */
  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  sign(admission: Admission): Promise<string> {
    return new SignJWT({ room: admission.roomId })
      .setProtectedHeader({ alg: 'ES256', kid: this.keyId, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(roomAudience(admission.roomId))
      .setSubject(admission.sessionId)
      .setIssuedAt()
      .setExpirationTime(admission.expiresAt)
      .sign(this.privateKey);
  }

  /** The admission, if `token` is a genuine, unexpired token of `roomId`; throws AdmissionTokenError saying why not. */
  async verify(token: string, roomId: string): Promise<Admission> {
    if (!isCanonicalCompactJws(token)) throw new AdmissionTokenError('invalid');
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { issuer: TOKEN_ISSUER, algorithms: ['ES256'] });
      if (payload.room !== roomId || payload.aud !== roomAudience(roomId)) throw new AdmissionTokenError('other_room');
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') throw new AdmissionTokenError('invalid');
      return { roomId, sessionId: payload.sub, expiresAt: payload.exp };
    } catch (err) {
      if (err instanceof AdmissionTokenError) throw err;
      const code = (err as { code?: string }).code;
      throw new AdmissionTokenError(code === 'ERR_JWT_EXPIRED' ? 'expired' : 'invalid');
    }
  }
}

/**
 * Three base64url segments, each spelled the one way its bytes encode. jose decodes leniently (the last character's
 * unused bits, whitespace), so without this one token had many accepted spellings.
 */
function isCanonicalCompactJws(token: string): boolean {
  const segments = token.split('.');
  return (
    segments.length === 3 && segments.every((s) => /^[A-Za-z0-9_-]+$/.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s)
  );
}
