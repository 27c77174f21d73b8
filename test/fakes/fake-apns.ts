/**
 * A strict fake of APNs on loopback (HTTP/2: h2c, or TLS). It made the team's signing key (`signingKey`, a .p8
 * PEM) and checks every request as Apple documents: the path and device token, the ES256 provider token (signature
 * against the public key, `kid`, `iss` = team id, `iat` at most an hour old, not updated more than once every
 * 20 minutes on one connection), `apns-topic`, `apns-push-type`, `apns-priority`, `apns-expiration`,
 * `apns-collapse-id`, and the JSON body (an `aps.alert` with title and body, at most 4096 bytes), answering Apple's
 * `{ reason }` errors. `fail(deviceToken, reason)` scripts errors per device.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { ScriptBook } from './scripts';
import { type FakeAnswer, type FakeRequest, type FakeResponse, type FakeServer, startHttp2Server } from './servers';
import { type TlsCertificate } from './tls';

export type ApnsFailure =
  | 'BadDeviceToken'
  | 'DeviceTokenNotForTopic'
  | 'Unregistered'
  | 'ExpiredToken'
  | 'TooManyRequests'
  | 'InternalServerError'
  | 'ServiceUnavailable'
  | 'hang';

const FAILURE_STATUS: Record<Exclude<ApnsFailure, 'hang'>, number> = {
  BadDeviceToken: 400,
  DeviceTokenNotForTopic: 400,
  Unregistered: 410,
  ExpiredToken: 410,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
};

export interface FakeApnsOptions {
  teamId?: string;
  keyId?: string;
  /** The bundle id tokens are issued for. */
  topic?: string;
  tls?: TlsCertificate;
  clock?: () => number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS (default 1000, as APNs announces once a provider token is accepted). */
  maxConcurrentStreams?: number;
  record?: boolean;
}

export interface ApnsReceived {
  deviceToken: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** The provider token, and its iat (seconds). */
  jwt: string;
  iat: number;
  connection: number;
  status: number;
  reason?: string;
}

const TOKEN_UPDATE_MIN_S = 20 * 60;
const PUSH_TYPES = new Set([
  'alert',
  'background',
  'location',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'liveactivity',
  'pushtotalk',
  'controls',
  'widgets',
]);

const reject = (status: number, reason: string, extra: object = {}): FakeResponse => ({
  status,
  headers: { 'apns-id': randomUUID() },
  body: { reason, ...extra },
});

export class FakeApns {
  readonly teamId: string;
  readonly keyId: string;
  readonly topic: string;
  /** The team's .p8 signing key (PKCS#8 PEM). */
  readonly signingKey: string;
  readonly received: ApnsReceived[] = [];
  readonly counts = { requests: 0, delivered: 0, rejected: 0 };
  /** Distinct provider tokens seen, in the order they first arrived, with the fake's time then. */
  readonly providerTokens: Array<{ jwt: string; iat: number; firstSeenAt: number }> = [];
  /** Retry-After sent with scripted 429 and 503 answers (Apple sends none; some proxies do). */
  retryAfter: string | undefined;
  private readonly failures = new ScriptBook<ApnsFailure>();
  private readonly clock: () => number;
  private readonly lastTokenPerConnection = new Map<number, { jwt: string; at: number }>();
  private expiredBeforeIat = -Infinity;

  private constructor(
    private readonly options: FakeApnsOptions,
    private readonly publicKey: KeyObject,
    signingKey: string,
    private server: FakeServer,
  ) {
    this.teamId = options.teamId ?? 'TEAM123456';
    this.keyId = options.keyId ?? 'KEY1234567';
    this.topic = options.topic ?? 'com.example.tidegate';
    this.signingKey = signingKey;
    this.clock = options.clock ?? Date.now;
  }

  static async start(options: FakeApnsOptions = {}): Promise<FakeApns> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ref: { fake?: FakeApns } = {};
    const server = await startHttp2Server((req) => ref.fake!.onRequest(req), {
      ...(options.tls && { tls: options.tls }),
      maxConcurrentStreams: options.maxConcurrentStreams ?? 1000,
    });
    ref.fake = new FakeApns(options, createPublicKey(privateKey), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), server);
    return ref.fake;
  }

  /** A random, well-formed device token (32 bytes, hex). */
  static deviceToken(): string {
    return randomBytes(32).toString('hex');
  }

  get endpoint(): string {
    return this.server.origin;
  }

  get connections(): number {
    return this.server.connections;
  }

  get peakConcurrentRequests(): number {
    return this.server.peakConcurrentRequests;
  }

  delivered(): ApnsReceived[] {
    return this.received.filter((r) => r.status === 200);
  }

  fail(deviceToken: string, failure: ApnsFailure, times?: number): void {
    this.failures.set(deviceToken, failure, times);
  }

  /** Every scripted failure ends (an outage is over). */
  clearFailures(): void {
    this.failures.clear();
  }

  /** From now on, provider tokens issued before the current second (fake clock) are answered ExpiredProviderToken. */
  expireProviderTokens(): void {
    this.expiredBeforeIat = Math.floor(this.clock() / 1000);
  }

  goAway(): void {
    this.server.goAway();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async onRequest(req: FakeRequest): Promise<FakeAnswer> {
    this.counts.requests++;
    const answer = await this.answer(req);
    if (answer !== 'hang') {
      if (answer.status === 200) this.counts.delivered++;
      else this.counts.rejected++;
    }
    return answer;
  }

  private async answer(req: FakeRequest): Promise<FakeAnswer> {
    const match = /^\/3\/device\/([^/?]+)$/.exec(req.path);
    if (!match) return reject(404, 'BadPath');
    if (req.method !== 'POST') return reject(405, 'MethodNotAllowed');
    const deviceToken = match[1]!;
    if (!/^[0-9a-f]{64,200}$/i.test(deviceToken)) return reject(400, 'BadDeviceToken');

    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || auth === '') return reject(403, 'MissingProviderToken');
    if (!auth.startsWith('bearer ')) return reject(403, 'InvalidProviderToken');
    const jwt = auth.slice('bearer '.length);
    let iat: number;
    try {
      const header = decodeProtectedHeader(jwt);
      if (header.alg !== 'ES256' || header.kid !== this.keyId) return reject(403, 'InvalidProviderToken');
      const { payload } = await compactVerify(jwt, this.publicKey, { algorithms: ['ES256'] });
      const claims = JSON.parse(new TextDecoder().decode(payload)) as { iss?: unknown; iat?: unknown };
      if (claims.iss !== this.teamId || typeof claims.iat !== 'number' || !Number.isInteger(claims.iat))
        return reject(403, 'InvalidProviderToken');
      iat = claims.iat;
    } catch {
      return reject(403, 'InvalidProviderToken');
    }
    const nowS = Math.floor(this.clock() / 1000);
    if (iat > nowS + 60) return reject(403, 'InvalidProviderToken');
    if (nowS - iat > 3600 || iat < this.expiredBeforeIat) return reject(403, 'ExpiredProviderToken');
    const last = this.lastTokenPerConnection.get(req.connection);
    if (last?.jwt !== jwt) {
      if (last && nowS - last.at < TOKEN_UPDATE_MIN_S) return reject(429, 'TooManyProviderTokenUpdates');
      this.lastTokenPerConnection.set(req.connection, { jwt, at: nowS });
      if (!this.providerTokens.some((t) => t.jwt === jwt)) this.providerTokens.push({ jwt, iat, firstSeenAt: this.clock() });
    }

    const h = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const topic = h('apns-topic');
    if (topic === undefined) return reject(400, 'MissingTopic');
    if (topic !== this.topic) return reject(400, 'DeviceTokenNotForTopic');
    const pushType = h('apns-push-type');
    if (pushType === undefined || !PUSH_TYPES.has(pushType)) return reject(400, 'InvalidPushType');
    const priority = h('apns-priority');
    if (priority !== undefined && !['1', '5', '10'].includes(priority)) return reject(400, 'BadPriority');
    const expiration = h('apns-expiration');
    if (expiration !== undefined && !/^\d+$/.test(expiration)) return reject(400, 'BadExpirationDate');
    const collapseId = h('apns-collapse-id');
    if (collapseId !== undefined && (Buffer.byteLength(collapseId) > 64 || !/^[\x20-\x7e]+$/.test(collapseId)))
      return reject(400, 'BadCollapseId');
    const apnsId = h('apns-id');
    if (apnsId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(apnsId))
      return reject(400, 'BadMessageId');

    if (req.body.length === 0) return reject(400, 'PayloadEmpty');
    if (req.body.length > 4096) return reject(413, 'PayloadTooLarge');
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return reject(400, 'BadPayload');
    }
    const aps = (body as { aps?: unknown } | null)?.aps;
    if (typeof body !== 'object' || body === null || typeof aps !== 'object' || aps === null) return reject(400, 'BadPayload');
    const alert = (aps as { alert?: unknown }).alert;
    if (
      pushType === 'alert' &&
      (typeof alert !== 'object' ||
        alert === null ||
        typeof (alert as { title?: unknown }).title !== 'string' ||
        typeof (alert as { body?: unknown }).body !== 'string')
    ) {
      return reject(400, 'BadPayload');
    }

    const failure = this.failures.take(deviceToken);
    if (failure === 'hang') return 'hang';
    let answer: FakeResponse;
    if (failure) {
      const status = FAILURE_STATUS[failure];
      answer = reject(status, failure, status === 410 ? { timestamp: this.clock() } : {});
      if ((status === 429 || status === 503) && this.retryAfter !== undefined)
        answer.headers = { ...answer.headers, 'retry-after': this.retryAfter };
    } else {
      answer = { status: 200, headers: { 'apns-id': apnsId ?? randomUUID() } };
    }
    if (this.options.record !== false) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (name.startsWith('apns-') || name === 'content-type') headers[name] = String(value);
      this.received.push({
        deviceToken,
        headers,
        body: body as Record<string, unknown>,
        jwt,
        iat,
        connection: req.connection,
        status: answer.status,
        ...(failure && { reason: failure }),
      });
    }
    return answer;
  }
}
