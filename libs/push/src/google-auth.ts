/**
 * OAuth2 access tokens for a Google service account (the JSON file from the Firebase console): an RS256 JWT
 * assertion signed with the account's private key is exchanged at its `token_uri` for a bearer token
 * (RFC 7523, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`). The token is cached until shortly before it
 * expires; concurrent callers share one exchange.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { type Http1Client } from './http1-client';
import { type Clock, PushConfigError } from './types';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google accepts assertions valid for at most an hour. */
const ASSERTION_LIFETIME_S = 3600;

/** The fields of a service-account JSON key that are used (the file has more). */
export interface ServiceAccount {
  type?: string;
  project_id?: string;
  private_key_id?: string;
  /** PKCS#8 PEM RSA private key. */
  private_key: string;
  client_email: string;
  /** Usually https://oauth2.googleapis.com/token. */
  token_uri: string;
}

/** The token endpoint refused or failed; `status` is its HTTP status (0 for a transport error). */
export class AccessTokenError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'AccessTokenError';
  }
}

/** Parses and checks a service-account JSON key (a string or the decoded object). */
export function parseServiceAccount(input: string | ServiceAccount): ServiceAccount {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new PushConfigError('the service account is not valid JSON');
    }
  }
  const account = value as Partial<ServiceAccount> | null;
  for (const field of ['client_email', 'private_key', 'token_uri'] as const) {
    if (typeof account?.[field] !== 'string' || account[field] === '') {
      throw new PushConfigError(`the service account has no ${field}`);
    }
  }
  return account as ServiceAccount;
}

export interface GoogleAccessTokensOptions {
  http: Http1Client;
  clock: Clock;
  /** Refresh this long before the token expires (default 5 minutes; at most half the token's lifetime). */
  refreshMarginMs?: number;
  scope?: string;
}

interface CachedToken {
  token: string;
  refreshAt: number;
}

export class GoogleAccessTokens {
  private readonly key: KeyObject;
  private cached: CachedToken | undefined;
  private pending: Promise<string> | undefined;
  /** Exchanges made at the token endpoint so far. */
  exchanges = 0;

  constructor(
    private readonly account: ServiceAccount,
    private readonly options: GoogleAccessTokensOptions,
  ) {
    try {
      this.key = createPrivateKey(account.private_key);
    } catch {
      throw new PushConfigError('the service account private_key is not a PEM private key');
    }
    if (this.key.asymmetricKeyType !== 'rsa') throw new PushConfigError('the service account private_key must be an RSA key (RS256)');
  }

  /** The cached access token while it is valid (not yet due for refresh), else undefined: no promise, no exchange. */
  current(): string | undefined {
    const cached = this.cached;
    return cached !== undefined && this.options.clock() < cached.refreshAt ? cached.token : undefined;
  }

  /** A valid access token: the cached one, or a new one from the token endpoint. */
  get(): Promise<string> {
    const token = this.current();
    if (token !== undefined) return Promise.resolve(token);
    this.pending ??= this.exchange().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Drops `token` (the provider answered 401 with it), unless a newer one already replaced it. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async exchange(): Promise<string> {
    this.exchanges++;
    const nowS = Math.floor(this.options.clock() / 1000);
    const header: { alg: 'RS256'; typ: 'JWT'; kid?: string } = { alg: 'RS256', typ: 'JWT' };
    if (this.account.private_key_id) header.kid = this.account.private_key_id;
    const assertion = await new SignJWT({ scope: this.options.scope ?? FCM_SCOPE })
      .setProtectedHeader(header)
      .setIssuer(this.account.client_email)
      .setAudience(this.account.token_uri)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + ASSERTION_LIFETIME_S)
      .sign(this.key);
    const form = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString();
    let response;
    try {
      response = await this.options.http.request(new URL(this.account.token_uri), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(form),
          accept: 'application/json',
        },
        body: form,
      });
    } catch (err) {
      const reason = (err as { code?: unknown }).code;
      throw new AccessTokenError(
        `token endpoint unreachable: ${(err as Error).message}`,
        0,
        typeof reason === 'string' ? reason : 'unreachable',
      );
    }
    let json: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      json = JSON.parse(response.body.toString('utf8')) as typeof json;
    } catch {
      // reported below
    }
    if (response.status !== 200 || typeof json.access_token !== 'string' || typeof json.expires_in !== 'number') {
      const reason = typeof json.error === 'string' ? json.error : `http_${response.status}`;
      const description = typeof json.error_description === 'string' ? `: ${json.error_description}` : '';
      throw new AccessTokenError(`token endpoint answered ${response.status} ${reason}${description}`, response.status, reason);
    }
    const lifetimeMs = json.expires_in * 1000;
    const margin = Math.min(this.options.refreshMarginMs ?? 5 * 60_000, lifetimeMs / 2);
    this.cached = { token: json.access_token, refreshAt: this.options.clock() + lifetimeMs - margin };
    return json.access_token;
  }
}
