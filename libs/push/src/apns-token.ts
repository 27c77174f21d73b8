/**
 * The APNs provider token: an ES256 JWT (header `kid` = the key id, claims `iss` = the team id, `iat`) signed with
 * the .p8 key from Apple's developer account. Apple's rule: refresh it no more than once every 20 minutes (else
 * 429 TooManyProviderTokenUpdates) and no less than once every 60 (else 403 ExpiredProviderToken). One token is
 * shared by every request and regenerated when it reaches `refreshAfterMs` (default 40 minutes).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { type Clock, PushConfigError } from './types';

export const APNS_TOKEN_MIN_AGE_MS = 20 * 60_000;
export const APNS_TOKEN_MAX_AGE_MS = 60 * 60_000;
export const APNS_TOKEN_DEFAULT_REFRESH_MS = 40 * 60_000;

export interface ApnsTokenOptions {
  /** The 10-character team id (`iss`). */
  teamId: string;
  /** The 10-character id of the signing key (`kid`). */
  keyId: string;
  /** The .p8 key: a PKCS#8 PEM EC P-256 private key. */
  signingKey: string;
  clock: Clock;
  /** Regenerate the token at this age: at least 20 minutes, under 60 (default 40). */
  refreshAfterMs?: number;
}

interface Token {
  jwt: string;
  issuedAt: number;
}

export class ApnsProviderToken {
  private readonly key: KeyObject;
  private readonly refreshAfterMs: number;
  private token: Token | undefined;
  private pending: Promise<string> | undefined;
  /** Tokens signed so far. */
  generated = 0;

  constructor(private readonly options: ApnsTokenOptions) {
    try {
      this.key = createPrivateKey(options.signingKey);
    } catch {
      throw new PushConfigError('the APNs signing key is not a PEM private key (the .p8 file)');
    }
    if (this.key.asymmetricKeyType !== 'ec' || this.key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new PushConfigError('the APNs signing key must be an EC P-256 private key (ES256)');
    }
    this.refreshAfterMs = options.refreshAfterMs ?? APNS_TOKEN_DEFAULT_REFRESH_MS;
    if (!(this.refreshAfterMs >= APNS_TOKEN_MIN_AGE_MS && this.refreshAfterMs < APNS_TOKEN_MAX_AGE_MS)) {
      throw new PushConfigError('the APNs token refresh age must be at least 20 minutes and under 60 (Apple refuses others)');
    }
    if (!options.teamId || !options.keyId) throw new PushConfigError('APNs token auth needs a team id and a key id');
  }

  /** The token to send now: the current one, or a new one once it reached the refresh age. */
  current(): Promise<string> {
    const token = this.token;
    if (token && this.options.clock() - token.issuedAt < this.refreshAfterMs) return Promise.resolve(token.jwt);
    return this.regenerate();
  }

  /**
   * APNs said `rejected` expired (403 ExpiredProviderToken). Returns the token to retry with: a newer one if another
   * request already replaced it, a new one if the current token is at least 20 minutes old, or undefined when a new
   * token now would break the 20-minute rule (the clocks disagree; retry later).
   */
  async renew(rejected: string): Promise<string | undefined> {
    const token = this.token;
    if (this.pending) return this.pending;
    if (!token || token.jwt !== rejected) return token?.jwt;
    if (this.options.clock() - token.issuedAt < APNS_TOKEN_MIN_AGE_MS) return undefined;
    return this.regenerate();
  }

  private regenerate(): Promise<string> {
    this.pending ??= this.sign().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async sign(): Promise<string> {
    const issuedAt = this.options.clock();
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: this.options.keyId })
      .setIssuer(this.options.teamId)
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .sign(this.key);
    this.token = { jwt, issuedAt };
    this.generated++;
    return jwt;
  }
}
