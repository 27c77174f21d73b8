/**
 * Apple Push Notification service over HTTP/2 with token (JWT) authentication:
 * `POST {endpoint}/3/device/{deviceToken}` on one shared connection, many concurrent streams.
 *
 * Outcomes: 200 → sent; 410 (Unregistered, ExpiredToken) and 400 BadDeviceToken → invalid_token; 429 and 5xx →
 * retry (Retry-After honoured if present); 403 ExpiredProviderToken → a new provider token (within Apple's 20-minute
 * rule) and one more try; other 4xx → failed.
 */
import { ApnsProviderToken } from './apns-token';
import { mapConcurrent } from './concurrency';
import { Http2Origin, type Http2Response } from './http2-client';
import { type ApnsPayload, PayloadCache, PayloadError } from './payload';
import { parseRetryAfter, transportFailure } from './retry';
import { fillTicket, slotted } from './wave-ticket';
import { type Clock, type PushMessage, type PushProvider, type SendResult, systemClock, type TlsOptions, PushConfigError } from './types';

export const APNS_PRODUCTION_ENDPOINT = 'https://api.push.apple.com';
/** For development builds of the app (tokens from the sandbox environment). */
export const APNS_SANDBOX_ENDPOINT = 'https://api.sandbox.push.apple.com';

export interface ApnsProviderOptions {
  teamId: string;
  keyId: string;
  /** The .p8 key (PKCS#8 PEM, EC P-256). */
  signingKey: string;
  /** The app's bundle id (`apns-topic`). */
  topic: string;
  /** Default production; APNS_SANDBOX_ENDPOINT for development builds; `http://host:port` for a local fake (h2c). */
  endpoint?: string;
  /** Per request, default 10 s. */
  timeoutMs?: number;
  /** Requests in flight at once for one batch, default 100. */
  maxConcurrency?: number;
  tls?: TlsOptions;
  clock?: Clock;
  /** Provider token age at which a new one is signed: at least 20 minutes, under 60 (default 40). */
  tokenRefreshAfterMs?: number;
}

/** The request headers for one notification (without `:path` and `authorization`). */
export function apnsHeaders(payload: ApnsPayload, topic: string, nowMs: number): Record<string, string> {
  return {
    'apns-topic': topic,
    'apns-push-type': 'alert',
    'apns-priority': payload.priority === 'high' ? '10' : '5',
    'apns-expiration': String(payload.ttlSeconds === 0 ? 0 : Math.floor(nowMs / 1000) + payload.ttlSeconds),
    ...(payload.collapseId !== undefined && { 'apns-collapse-id': payload.collapseId }),
    'content-type': 'application/json',
  };
}

/** APNs's `reason` from an error body (`BadDeviceToken`, `Unregistered`…). */
export function apnsReason(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { reason?: unknown };
    return typeof parsed.reason === 'string' ? parsed.reason : undefined;
  } catch {
    return undefined;
  }
}

/** A bundle id (with a suffix such as `.voip` where the push type needs one): what may go in `apns-topic`. */
const BUNDLE_ID = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;
/** Device tokens are hexadecimal (64 characters today); anything else is refused without a request. */
const DEVICE_TOKEN = /^[0-9a-fA-F]{8,400}$/;

export class ApnsProvider implements PushProvider {
  readonly name = 'apns';
  private readonly origin: Http2Origin;
  private readonly basePath: string;
  private readonly tokens: ApnsProviderToken;
  private readonly payloads = new PayloadCache('apns');
  private readonly clock: Clock;
  private readonly maxConcurrency: number;
  private closed = false;

  constructor(private readonly options: ApnsProviderOptions) {
    if (!options.topic) throw new PushConfigError('APNs needs the app bundle id (topic)');
    if (!BUNDLE_ID.test(options.topic))
      throw new PushConfigError(`the APNs topic must be a bundle id (letters, digits, '.', '-'): ${JSON.stringify(options.topic)}`);
    this.clock = options.clock ?? systemClock;
    this.tokens = new ApnsProviderToken({
      teamId: options.teamId,
      keyId: options.keyId,
      signingKey: options.signingKey,
      clock: this.clock,
      ...(options.tokenRefreshAfterMs !== undefined && { refreshAfterMs: options.tokenRefreshAfterMs }),
    });
    const endpoint = new URL(options.endpoint ?? APNS_PRODUCTION_ENDPOINT);
    this.origin = new Http2Origin(endpoint.origin, { timeoutMs: options.timeoutMs ?? 10_000, ...(options.tls && { tls: options.tls }) });
    this.basePath = endpoint.pathname.replace(/\/+$/, '');
    this.maxConcurrency = options.maxConcurrency ?? 100;
  }

  /** HTTP/2 connections opened so far. */
  get connectionsOpened(): number {
    return this.origin.sessionsOpened;
  }

  /** Provider tokens signed so far. */
  get tokensGenerated(): number {
    return this.tokens.generated;
  }

  async send(batch: readonly PushMessage[]): Promise<SendResult[]> {
    if (this.closed) throw new Error('the APNs provider is closed');
    return mapConcurrent(batch, this.maxConcurrency, (message) => this.sendOne(message));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.origin.close();
  }

  private async sendOne(message: PushMessage): Promise<SendResult> {
    const { deviceId, target } = message;
    if (target.platform !== 'apns') return { deviceId, outcome: 'failed', reason: 'wrong_platform' };
    if (!DEVICE_TOKEN.test(target.token)) return { deviceId, outcome: 'invalid_token', reason: 'BadDeviceToken' };
    const payload = this.payloads.get(slotted(message));
    if (payload instanceof PayloadError) return { deviceId, outcome: 'failed', reason: payload.code };
    const headers = apnsHeaders(payload, this.options.topic, this.clock());
    const json = fillTicket(payload.json, message);
    let jwt = await this.tokens.current();
    for (let attempt = 0; ; attempt++) {
      let response: Http2Response;
      try {
        response = await this.origin.request(
          { ':method': 'POST', ':path': `${this.basePath}/3/device/${target.token}`, authorization: `bearer ${jwt}`, ...headers },
          json,
        );
      } catch (err) {
        return transportFailure(deviceId, err);
      }
      const reason = response.status === 200 ? undefined : apnsReason(response.body);
      if (response.status === 403 && reason === 'ExpiredProviderToken' && attempt === 0) {
        const renewed = await this.tokens.renew(jwt);
        if (renewed !== undefined) {
          jwt = renewed;
          continue;
        }
      }
      return this.resultOf(deviceId, response, reason);
    }
  }

  private resultOf(deviceId: string, response: Http2Response, code: string | undefined): SendResult {
    const status = response.status;
    if (status >= 200 && status < 300) return { deviceId, outcome: 'sent', status };
    const reason = code ?? `http_${status}`;
    if (status === 410 || (status === 400 && code === 'BadDeviceToken')) return { deviceId, outcome: 'invalid_token', status, reason };
    if (status === 429 || status >= 500 || code === 'ExpiredProviderToken') {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.clock());
      return { deviceId, outcome: 'retry', status, reason, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    }
    return { deviceId, outcome: 'failed', status, reason };
  }
}
