/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291). The `web-push` package
 * encrypts the payload and signs the VAPID JWT (`generateRequestDetails`); the request itself goes out here, over
 * keep-alive connections with a timeout, so the status and `Retry-After` are read directly and a local `http://`
 * push service (a test's fake) can be reached when `allowHttp` is set.
 *
 * Outcomes: 2xx → sent; 404 and 410 → invalid_token (the subscription is gone); 429 and 5xx → retry
 * (Retry-After honoured); other 4xx (400, 401/403 VAPID refused, 413 too large) → failed. A subscription whose
 * keys or endpoint are malformed is invalid_token without a request.
 */
import { generateRequestDetails, getVapidHeaders } from 'web-push';
import { mapConcurrent } from './concurrency';
import { Http1Client, type Http1Response } from './http1-client';
import { PayloadCache, PayloadError } from './payload';
import { parseRetryAfter, transportFailure } from './retry';
import { fillTicket, slotted } from './wave-ticket';
import { type Clock, type PushMessage, type PushProvider, type SendResult, systemClock, type TlsOptions, PushConfigError } from './types';

export interface VapidDetails {
  /** Who runs the application server: `mailto:ops@example.com` or an `https:` URL. */
  subject: string;
  /** The uncompressed P-256 public key, base64url (65 bytes): the applicationServerKey browsers subscribed with. */
  publicKey: string;
  /** The P-256 private key, base64url (32 bytes). */
  privateKey: string;
}

export interface WebPushProviderOptions {
  vapid: VapidDetails;
  /** Per request, default 10 s. */
  timeoutMs?: number;
  /** Requests in flight at once for one batch, default 100. */
  maxConcurrency?: number;
  /** Keep-alive sockets per push-service origin, default 50. */
  maxSocketsPerOrigin?: number;
  tls?: TlsOptions;
  /** Accept `http://` subscription endpoints (local fakes only; real push services are https). Default false. */
  allowHttp?: boolean;
  clock?: Clock;
}

/** Lifetime of a VAPID JWT (its `exp`), and how long one is reused before a fresh one is signed. */
export const VAPID_LIFETIME_S = 12 * 3600;
export const VAPID_REUSE_MS = 3600_000;

export class WebPushProvider implements PushProvider {
  readonly name = 'webpush';
  private readonly vapidCache = new Map<string, { authorization: string; signedAt: number }>();
  private readonly http: Http1Client;
  private readonly payloads = new PayloadCache('webpush');
  private readonly clock: Clock;
  private readonly maxConcurrency: number;
  private closed = false;

  constructor(private readonly options: WebPushProviderOptions) {
    const { subject, publicKey, privateKey } = options.vapid;
    try {
      getVapidHeaders('https://push.example', subject, publicKey, privateKey, 'aes128gcm');
    } catch (err) {
      throw new PushConfigError(`invalid VAPID details: ${(err as Error).message}`);
    }
    this.clock = options.clock ?? systemClock;
    this.maxConcurrency = options.maxConcurrency ?? 100;
    this.http = new Http1Client({
      timeoutMs: options.timeoutMs ?? 10_000,
      maxSockets: options.maxSocketsPerOrigin ?? 50,
      ...(options.tls && { tls: options.tls }),
    });
  }

  async send(batch: readonly PushMessage[]): Promise<SendResult[]> {
    if (this.closed) throw new Error('the Web Push provider is closed');
    return mapConcurrent(batch, this.maxConcurrency, (message) => this.sendOne(message));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async; closing agents is not
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.http.close();
  }

  private async sendOne(message: PushMessage): Promise<SendResult> {
    const { deviceId, target } = message;
    if (target.platform !== 'webpush') return { deviceId, outcome: 'failed', reason: 'wrong_platform' };
    const payload = this.payloads.get(slotted(message));
    if (payload instanceof PayloadError) return { deviceId, outcome: 'failed', reason: payload.code };
    let url: URL;
    try {
      url = new URL(target.subscription.endpoint);
    } catch {
      return { deviceId, outcome: 'invalid_token', reason: 'invalid_endpoint' };
    }
    if (url.protocol !== 'https:' && !(this.options.allowHttp && url.protocol === 'http:')) {
      return { deviceId, outcome: 'invalid_token', reason: 'invalid_endpoint' };
    }
    let details: ReturnType<typeof generateRequestDetails>;
    try {
      details = generateRequestDetails(target.subscription, fillTicket(payload.plaintext, message), {
        // No vapidDetails (and no global ones set): our own Authorization, a VAPID JWT per push service, cached, so
        // web-push signs nothing per message.
        headers: { Authorization: this.vapidAuthorization(url.origin) },
        TTL: payload.ttlSeconds,
        urgency: payload.urgency,
        ...(payload.topic !== undefined && { topic: payload.topic }),
        contentEncoding: 'aes128gcm',
      });
    } catch {
      // Malformed p256dh or auth keys: this subscription can never receive anything.
      return { deviceId, outcome: 'invalid_token', reason: 'invalid_subscription' };
    }
    let response: Http1Response;
    try {
      response = await this.http.request(url, { method: 'POST', headers: details.headers, body: details.body ?? undefined });
    } catch (err) {
      return transportFailure(deviceId, err);
    }
    return this.resultOf(deviceId, response);
  }

  /**
   * The VAPID `Authorization` for a push service (`vapid t=<JWT>, k=<public key>`), the JWT's `aud` being the
   * service's origin. Signing is an ES256 signature, the most expensive step of a send, and the JWT is the same for
   * every message to one service: it is signed once per origin and reused for VAPID_REUSE_MS of its
   * VAPID_LIFETIME_S lifetime (RFC 8292 allows up to 24 hours).
   */
  private vapidAuthorization(origin: string): string {
    const now = this.clock();
    const cached = this.vapidCache.get(origin);
    if (cached && now - cached.signedAt < VAPID_REUSE_MS) return cached.authorization;
    const { subject, publicKey, privateKey } = this.options.vapid;
    const expiration = Math.floor(now / 1000) + VAPID_LIFETIME_S;
    const { Authorization } = getVapidHeaders(origin, subject, publicKey, privateKey, 'aes128gcm', expiration);
    if (this.vapidCache.size >= 1000) this.vapidCache.clear();
    this.vapidCache.set(origin, { authorization: Authorization, signedAt: now });
    return Authorization;
  }

  private resultOf(deviceId: string, response: Http1Response): SendResult {
    const status = response.status;
    if (status >= 200 && status < 300) return { deviceId, outcome: 'sent', status };
    const reason = `http_${status}`;
    if (status === 404 || status === 410) return { deviceId, outcome: 'invalid_token', status, reason };
    if (status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.clock());
      return { deviceId, outcome: 'retry', status, reason, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    }
    return { deviceId, outcome: 'failed', status, reason };
  }
}
