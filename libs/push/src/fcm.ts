/**
 * Firebase Cloud Messaging, HTTP v1 API: `POST {endpoint}/v1/projects/{projectId}/messages:send`, one message per
 * request, over one shared HTTP/2 connection, authorised by an OAuth2 token of a service account.
 *
 * Outcomes: 200 → sent; 404 or `UNREGISTERED` → invalid_token; 429 and 5xx → retry (Retry-After honoured);
 * 401 → the access token is refreshed and the message sent once more (then failed); other 4xx → failed.
 */
import { mapConcurrent } from './concurrency';
import { AccessTokenError, GoogleAccessTokens, parseServiceAccount, type ServiceAccount } from './google-auth';
import { Http1Client } from './http1-client';
import { Http2Origin, type Http2Response } from './http2-client';
import { type FcmPayload, PayloadCache, PayloadError } from './payload';
import { parseRetryAfter, transportFailure } from './retry';
import { fillTicket, slotted } from './wave-ticket';
import { type Clock, type PushMessage, type PushProvider, type SendResult, systemClock, type TlsOptions, PushConfigError } from './types';

export const FCM_ENDPOINT = 'https://fcm.googleapis.com';
export const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

export interface FcmProviderOptions {
  /** The service-account JSON key (text or decoded), with client_email, private_key and token_uri. */
  serviceAccount: string | ServiceAccount;
  /** Defaults to the service account's project_id. */
  projectId?: string;
  /** Default https://fcm.googleapis.com; `http://host:port` speaks cleartext HTTP/2 (for local fakes). */
  endpoint?: string;
  /** Per request (the token exchange included), default 10 s. */
  timeoutMs?: number;
  /** Requests in flight at once for one batch, default 100 (streams on the one connection). */
  maxConcurrency?: number;
  tls?: TlsOptions;
  clock?: Clock;
  /** Refresh the access token this long before it expires (default 5 minutes). */
  tokenRefreshMarginMs?: number;
}

/** The JSON body of messages:send, as FCM documents it (the fields Tidegate fills). */
export interface FcmSendRequest {
  message: {
    token: string;
    notification: { title: string; body: string; image?: string };
    data?: Record<string, string>;
    android: {
      priority: 'HIGH' | 'NORMAL';
      /** A protobuf Duration: seconds with an `s` suffix. */
      ttl: string;
      collapse_key?: string;
      notification?: { channel_id?: string; sound?: string; click_action?: string };
    };
    apns: {
      headers: Record<string, string>;
      payload?: { aps: { sound?: string; 'mutable-content'?: 1 } };
    };
    webpush: {
      headers: Record<string, string>;
      fcm_options?: { link: string };
    };
  };
}

/** The request body for one device. `nowMs` sets the absolute APNs expiration FCM forwards for iOS apps. */
export function fcmRequest(payload: FcmPayload, token: string, nowMs: number): FcmSendRequest {
  const androidNotification = {
    ...(payload.channelId !== undefined && { channel_id: payload.channelId }),
    ...(payload.sound !== undefined && { sound: payload.sound }),
    ...(payload.clickAction !== undefined && { click_action: payload.clickAction }),
  };
  const high = payload.priority === 'high';
  return {
    message: {
      token,
      notification: { title: payload.title, body: payload.body, ...(payload.imageUrl !== undefined && { image: payload.imageUrl }) },
      ...(Object.keys(payload.data).length > 0 && { data: payload.data }),
      android: {
        priority: high ? 'HIGH' : 'NORMAL',
        ttl: `${payload.ttlSeconds}s`,
        ...(payload.collapseKey !== undefined && { collapse_key: payload.collapseKey }),
        ...(Object.keys(androidNotification).length > 0 && { notification: androidNotification }),
      },
      apns: {
        headers: {
          'apns-priority': high ? '10' : '5',
          'apns-expiration': String(payload.ttlSeconds === 0 ? 0 : Math.floor(nowMs / 1000) + payload.ttlSeconds),
          ...(payload.apnsCollapseId !== undefined && { 'apns-collapse-id': payload.apnsCollapseId }),
        },
        ...((payload.sound !== undefined || payload.imageUrl !== undefined) && {
          payload: {
            aps: {
              ...(payload.sound !== undefined && { sound: payload.sound }),
              ...(payload.imageUrl !== undefined && { 'mutable-content': 1 as const }),
            },
          },
        }),
      },
      webpush: {
        headers: { TTL: String(payload.ttlSeconds), Urgency: high ? 'high' : 'normal' },
        ...(payload.deepLink?.startsWith('https://') && { fcm_options: { link: payload.deepLink } }),
      },
    },
  };
}

/**
 * The JSON text of `fcmRequest(payload, token, nowMs)` for every token, byte for byte, without building the object
 * per message: the text around the token is made once per payload and second (the APNs expiration is in seconds).
 */
export class FcmBodies {
  private readonly parts = new WeakMap<FcmPayload, { second: number; head: string; tail: string }>();

  body(payload: FcmPayload, token: string, nowMs: number): string {
    const second = Math.floor(nowMs / 1000);
    let parts = this.parts.get(payload);
    if (parts === undefined || parts.second !== second) {
      // `token` is the message's first field: the text splits right where its (empty) value goes.
      const text = JSON.stringify(fcmRequest(payload, '', second * 1000));
      const head = '{"message":{"token":';
      if (!text.startsWith(`${head}""`)) throw new Error('the FCM request no longer starts with its token');
      parts = { second, head, tail: text.slice(head.length + 2) };
      this.parts.set(payload, parts);
    }
    return parts.head + JSON.stringify(token) + parts.tail;
  }
}

/** FCM's error code (`UNREGISTERED`, `QUOTA_EXCEEDED`…) from an error body, else its status, else undefined. */
export function fcmErrorCode(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      error?: { status?: unknown; details?: Array<{ '@type'?: unknown; errorCode?: unknown }> };
    };
    const detail = parsed.error?.details?.find((d) => d['@type'] === FCM_ERROR_TYPE && typeof d.errorCode === 'string');
    if (typeof detail?.errorCode === 'string') return detail.errorCode;
    return typeof parsed.error?.status === 'string' ? parsed.error.status : undefined;
  } catch {
    return undefined;
  }
}

export class FcmProvider implements PushProvider {
  readonly name = 'fcm';
  readonly projectId: string;
  private readonly origin: Http2Origin;
  private readonly http1: Http1Client;
  private readonly tokens: GoogleAccessTokens;
  private readonly payloads = new PayloadCache('fcm');
  private readonly bodies = new FcmBodies();
  /** `:path` of messages:send, the same for every request. */
  private readonly sendPath: string;
  /** The request headers for the current access token (rebuilt when the token changes). */
  private headers: { token: string; headers: Readonly<Record<string, string>> } | undefined;
  private readonly clock: Clock;
  private readonly maxConcurrency: number;
  private closed = false;

  constructor(options: FcmProviderOptions) {
    const account = parseServiceAccount(options.serviceAccount);
    const projectId = options.projectId ?? account.project_id;
    if (!projectId) throw new PushConfigError('FCM needs a project id (projectId, or project_id in the service account)');
    this.projectId = projectId;
    const endpoint = new URL(options.endpoint ?? FCM_ENDPOINT);
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.origin = new Http2Origin(endpoint.origin, { timeoutMs, ...(options.tls && { tls: options.tls }) });
    const basePath = endpoint.pathname.replace(/\/+$/, '');
    this.sendPath = `${basePath}/v1/projects/${encodeURIComponent(this.projectId)}/messages:send`;
    this.clock = options.clock ?? systemClock;
    this.maxConcurrency = options.maxConcurrency ?? 100;
    this.http1 = new Http1Client({ timeoutMs, maxSockets: 4, ...(options.tls && { tls: options.tls }) });
    this.tokens = new GoogleAccessTokens(account, {
      http: this.http1,
      clock: this.clock,
      ...(options.tokenRefreshMarginMs !== undefined && { refreshMarginMs: options.tokenRefreshMarginMs }),
    });
  }

  /** HTTP/2 connections opened so far (for tests and metrics). */
  get connectionsOpened(): number {
    return this.origin.sessionsOpened;
  }

  /** Access-token exchanges made so far. */
  get tokenExchanges(): number {
    return this.tokens.exchanges;
  }

  async send(batch: readonly PushMessage[]): Promise<SendResult[]> {
    if (this.closed) throw new Error('the FCM provider is closed');
    return mapConcurrent(batch, this.maxConcurrency, (message) => this.sendOne(message));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.origin.close();
    this.http1.close();
  }

  private async sendOne(message: PushMessage): Promise<SendResult> {
    const { deviceId, target } = message;
    if (target.platform !== 'fcm') return { deviceId, outcome: 'failed', reason: 'wrong_platform' };
    const payload = this.payloads.get(slotted(message));
    if (payload instanceof PayloadError) return { deviceId, outcome: 'failed', reason: payload.code };
    const body = fillTicket(this.bodies.body(payload, target.token, this.clock()), message);
    for (let attempt = 0; ; attempt++) {
      let accessToken = this.tokens.current();
      if (accessToken === undefined) {
        try {
          accessToken = await this.tokens.get();
        } catch (err) {
          if (err instanceof AccessTokenError) {
            // A refused assertion (bad key, revoked account) will not fix itself; an unreachable endpoint may.
            const permanent = err.status >= 400 && err.status < 500;
            return { deviceId, outcome: permanent ? 'failed' : 'retry', reason: `auth:${err.reason}` };
          }
          throw err;
        }
      }
      let response: Http2Response;
      try {
        response = await this.origin.request(this.headersFor(accessToken), body);
      } catch (err) {
        return transportFailure(deviceId, err);
      }
      if (response.status === 200) return { deviceId, outcome: 'sent', status: 200 };
      const reason = fcmErrorCode(response.body);
      if (response.status === 401 && reason !== 'THIRD_PARTY_AUTH_ERROR' && attempt === 0) {
        this.tokens.invalidate(accessToken);
        continue;
      }
      return this.resultOf(deviceId, response, reason);
    }
  }

  /** The messages:send headers with `accessToken`: one object per token, shared by its requests (never changed). */
  private headersFor(accessToken: string): Readonly<Record<string, string>> {
    if (this.headers?.token !== accessToken) {
      const headers = {
        ':method': 'POST',
        ':path': this.sendPath,
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/json; charset=UTF-8',
      };
      this.headers = { token: accessToken, headers };
    }
    return this.headers.headers;
  }

  private resultOf(deviceId: string, response: Http2Response, code: string | undefined): SendResult {
    const status = response.status;
    if (status >= 200 && status < 300) return { deviceId, outcome: 'sent', status };
    const reason = code ?? `http_${status}`;
    if (status === 404 || code === 'UNREGISTERED') return { deviceId, outcome: 'invalid_token', status, reason };
    if (status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.clock());
      return { deviceId, outcome: 'retry', status, reason, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    }
    return { deviceId, outcome: 'failed', status, reason };
  }
}
