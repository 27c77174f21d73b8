/**
 * A strict fake of FCM HTTP v1 on loopback: the messages:send endpoint over HTTP/2 (h2c, or TLS), and Google's
 * OAuth2 token endpoint over HTTP/1.1, with a service account it made for the test.
 *
 * The token endpoint verifies the RS256 assertion against the service account's public key, its iss, scope, aud,
 * iat and exp (lifetime at most an hour), and issues bearer tokens that expire by the fake's clock. messages:send
 * checks the path and project, the bearer token, the content type, and the body as FCM's API would (unknown fields,
 * exactly one target, string-only data, reserved keys, Duration and priority formats, the 4096-byte limit), answering
 * FCM's error shape. `fail(token, kind)` scripts errors per registration token.
 */
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject, createPublicKey } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { type ServiceAccount } from '@tidegate/push';
import { ScriptBook } from './scripts';
import { type FakeAnswer, type FakeRequest, type FakeResponse, type FakeServer, startHttp1Server, startHttp2Server } from './servers';
import { type TlsCertificate } from './tls';

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

export type FcmFailure =
  'unregistered' | 'invalid_argument' | 'sender_id_mismatch' | 'quota_exceeded' | 'unavailable' | 'internal' | 'third_party_auth' | 'hang';

export interface FakeFcmOptions {
  projectId?: string;
  /** Serve both endpoints over TLS with this certificate. */
  tls?: TlsCertificate;
  clock?: () => number;
  /** `expires_in` of issued access tokens, seconds (default 3599, as Google). */
  accessTokenLifetimeS?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of messages:send (default 100). */
  maxConcurrentStreams?: number;
  /** Keep every request in `received` (default true; a benchmark turns it off and reads `counts`). */
  record?: boolean;
}

export interface FcmReceived {
  projectId: string;
  token: string;
  /** The decoded `message`. */
  message: Record<string, unknown>;
  accessToken: string;
  connection: number;
  /** What the fake answered. */
  status: number;
  /** When it answered (the fake's clock, ms since the epoch): fault tests read backoff and Retry-After from it. */
  at: number;
}

export interface TokenRequest {
  status: number;
  error?: string;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

function fcmError(status: number, statusText: string, message: string, errorCode?: string, extra: object[] = []): FakeResponse {
  const details: object[] = [...extra];
  if (errorCode) details.push({ '@type': FCM_ERROR_TYPE, errorCode });
  return { status, body: { error: { code: status, message, status: statusText, ...(details.length > 0 && { details }) } } };
}

const badRequest = (message: string, field?: string) =>
  fcmError(
    400,
    'INVALID_ARGUMENT',
    message,
    'INVALID_ARGUMENT',
    field ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: message }] }] : [],
  );

const FAILURES: Record<Exclude<FcmFailure, 'hang'>, FakeResponse> = {
  unregistered: fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED'),
  invalid_argument: fcmError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT'),
  sender_id_mismatch: fcmError(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH'),
  quota_exceeded: fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', 'QUOTA_EXCEEDED'),
  unavailable: fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE'),
  internal: fcmError(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL'),
  third_party_auth: fcmError(401, 'UNAUTHENTICATED', 'Auth error from APNS or Web Push Service', 'THIRD_PARTY_AUTH_ERROR'),
};

const MESSAGE_FIELDS = new Set([
  'name',
  'data',
  'notification',
  'android',
  'webpush',
  'apns',
  'fcm_options',
  'token',
  'topic',
  'condition',
]);
const NOTIFICATION_FIELDS = new Set(['title', 'body', 'image']);
const ANDROID_FIELDS = new Set([
  'collapse_key',
  'priority',
  'ttl',
  'restricted_package_name',
  'data',
  'notification',
  'fcm_options',
  'direct_boot_ok',
]);
const ANDROID_NOTIFICATION_FIELDS = new Set([
  'title',
  'body',
  'icon',
  'color',
  'sound',
  'tag',
  'click_action',
  'body_loc_key',
  'title_loc_key',
  'channel_id',
  'ticker',
  'sticky',
  'image',
  'notification_priority',
  'visibility',
  'notification_count',
]);
const APNS_FIELDS = new Set(['headers', 'payload', 'fcm_options', 'live_activity_token']);
const WEBPUSH_FIELDS = new Set(['headers', 'data', 'notification', 'fcm_options']);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringMap = (v: unknown) => isObject(v) && Object.values(v).every((x) => typeof x === 'string');

/** The first problem FCM would find in a messages:send body, or undefined. */
function validateBody(body: unknown): FakeResponse | undefined {
  if (!isObject(body)) return badRequest('Invalid JSON payload received.');
  for (const key of Object.keys(body)) {
    if (key !== 'message' && key !== 'validate_only')
      return badRequest(`Invalid JSON payload received. Unknown name "${key}": Cannot find field.`);
  }
  const message = body.message;
  if (!isObject(message)) return badRequest('Request contains an invalid argument.', 'message');
  for (const key of Object.keys(message)) {
    if (!MESSAGE_FIELDS.has(key))
      return badRequest(`Invalid JSON payload received. Unknown name "${key}" at 'message': Cannot find field.`);
  }
  const targets = ['token', 'topic', 'condition'].filter((k) => message[k] !== undefined);
  if (targets.length !== 1) return badRequest('Exactly one of token, topic or condition must be set.', 'message');
  if (typeof message.token !== 'string' || message.token === '')
    return badRequest('The registration token is not a valid FCM registration token', 'message.token');
  const notification = message.notification;
  if (notification !== undefined) {
    if (!isObject(notification)) return badRequest('Invalid value at message.notification', 'message.notification');
    for (const [key, value] of Object.entries(notification)) {
      if (!NOTIFICATION_FIELDS.has(key)) return badRequest(`Unknown name "${key}" at 'message.notification'`);
      if (typeof value !== 'string')
        return badRequest(`Invalid value at 'message.notification.${key}' (TYPE_STRING)`, `message.notification.${key}`);
    }
  }
  if (message.data !== undefined) {
    if (!isObject(message.data)) return badRequest("Invalid value at 'message.data'", 'message.data');
    for (const [key, value] of Object.entries(message.data)) {
      if (typeof value !== 'string')
        return badRequest(`Invalid value at 'message.data[${key}].value' (TYPE_STRING)`, `message.data[${key}].value`);
      if (['from', 'notification', 'message_type'].includes(key) || /^(google|gcm)/i.test(key))
        return badRequest(`Invalid data key: ${key}`, 'message.data');
    }
  }
  const size = Buffer.byteLength(JSON.stringify({ notification: message.notification ?? {}, data: message.data ?? {} }));
  if (size > 4096) return badRequest('Message is too big', 'message');
  const android = message.android;
  if (android !== undefined) {
    if (!isObject(android)) return badRequest("Invalid value at 'message.android'");
    for (const key of Object.keys(android)) if (!ANDROID_FIELDS.has(key)) return badRequest(`Unknown name "${key}" at 'message.android'`);
    if (android.priority !== undefined && android.priority !== 'NORMAL' && android.priority !== 'HIGH') {
      return badRequest(
        `Invalid value at 'message.android.priority' (TYPE_ENUM), ${JSON.stringify(android.priority)}`,
        'message.android.priority',
      );
    }
    if (android.ttl !== undefined && (typeof android.ttl !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(android.ttl))) {
      return badRequest("Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)", 'message.android.ttl');
    }
    if (android.collapse_key !== undefined && typeof android.collapse_key !== 'string') return badRequest('collapse_key must be a string');
    if (android.notification !== undefined) {
      if (!isObject(android.notification)) return badRequest("Invalid value at 'message.android.notification'");
      for (const [key, value] of Object.entries(android.notification)) {
        if (!ANDROID_NOTIFICATION_FIELDS.has(key)) return badRequest(`Unknown name "${key}" at 'message.android.notification'`);
        if (typeof value !== 'string' && key !== 'sticky' && key !== 'notification_count')
          return badRequest(`Invalid value at 'message.android.notification.${key}'`);
      }
    }
  }
  const apns = message.apns;
  if (apns !== undefined) {
    if (!isObject(apns)) return badRequest("Invalid value at 'message.apns'");
    for (const key of Object.keys(apns)) if (!APNS_FIELDS.has(key)) return badRequest(`Unknown name "${key}" at 'message.apns'`);
    if (apns.headers !== undefined && !isStringMap(apns.headers))
      return badRequest("Invalid value at 'message.apns.headers' (map<string, string>)");
    if (apns.payload !== undefined && (!isObject(apns.payload) || (apns.payload.aps !== undefined && !isObject(apns.payload.aps)))) {
      return badRequest("Invalid value at 'message.apns.payload'");
    }
  }
  const webpush = message.webpush;
  if (webpush !== undefined) {
    if (!isObject(webpush)) return badRequest("Invalid value at 'message.webpush'");
    for (const key of Object.keys(webpush)) if (!WEBPUSH_FIELDS.has(key)) return badRequest(`Unknown name "${key}" at 'message.webpush'`);
    if (webpush.headers !== undefined && !isStringMap(webpush.headers))
      return badRequest("Invalid value at 'message.webpush.headers' (map<string, string>)");
    const link = isObject(webpush.fcm_options) ? webpush.fcm_options.link : undefined;
    if (link !== undefined && (typeof link !== 'string' || !link.startsWith('https://')))
      return badRequest('The link must be an https URL', 'message.webpush.fcm_options.link');
  }
  return undefined;
}

export class FakeFcm {
  /** The service account a provider should use: its token_uri points at this fake. */
  readonly serviceAccount: ServiceAccount;
  readonly received: FcmReceived[] = [];
  readonly tokenRequests: TokenRequest[] = [];
  readonly counts = { requests: 0, delivered: 0, rejected: 0 };
  private readonly failures = new ScriptBook<FcmFailure>();
  private readonly accessTokens = new Map<string, number>();
  private readonly clock: () => number;

  private constructor(
    private readonly options: FakeFcmOptions,
    readonly projectId: string,
    private readonly publicKey: KeyObject,
    private readonly api: FakeServer,
    private readonly tokenServer: FakeServer,
    privateKeyPem: string,
    keyId: string,
  ) {
    this.clock = options.clock ?? Date.now;
    this.serviceAccount = {
      type: 'service_account',
      project_id: projectId,
      private_key_id: keyId,
      private_key: privateKeyPem,
      client_email: `tidegate-push@${projectId}.iam.gserviceaccount.com`,
      token_uri: `${tokenServer.origin}/token`,
    };
  }

  static async start(options: FakeFcmOptions = {}): Promise<FakeFcm> {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const ref: { fake?: FakeFcm } = {};
    const api = await startHttp2Server((req) => ref.fake!.onSend(req), {
      ...(options.tls && { tls: options.tls }),
      ...(options.maxConcurrentStreams !== undefined && { maxConcurrentStreams: options.maxConcurrentStreams }),
    });
    const tokenServer = await startHttp1Server((req) => ref.fake!.onToken(req), options.tls);
    ref.fake = new FakeFcm(
      options,
      options.projectId ?? 'tidegate-test',
      createPublicKey(privateKey),
      api,
      tokenServer,
      pem,
      randomBytes(20).toString('hex'),
    );
    return ref.fake;
  }

  /** The `endpoint` for the provider (the fake's origin). */
  get endpoint(): string {
    return this.api.origin;
  }

  /** HTTP/2 connections the provider opened to messages:send. */
  get connections(): number {
    return this.api.connections;
  }

  get peakConcurrentRequests(): number {
    return this.api.peakConcurrentRequests;
  }

  /** Messages answered 200. */
  delivered(): FcmReceived[] {
    return this.received.filter((r) => r.status === 200);
  }

  /** Answer `token` with this error (or never answer: `hang`) for the next `times` requests (all by default). */
  fail(token: string, failure: FcmFailure, times?: number): void {
    this.failures.set(token, failure, times);
  }

  /** Every scripted failure ends (an outage is over). */
  clearFailures(): void {
    this.failures.clear();
  }

  /** Retry-After sent with 429 and 503 answers (seconds or an HTTP date); default none. */
  retryAfter: string | undefined;

  /** While true, every access token is answered 401 (a revoked service account). */
  refuseAccessTokens = false;

  /** Every access token issued so far stops working (the next request with one gets 401). */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  goAway(): void {
    this.api.goAway();
  }

  async close(): Promise<void> {
    await Promise.all([this.api.close(), this.tokenServer.close()]);
  }

  private async onToken(req: FakeRequest): Promise<FakeAnswer> {
    const refuse = (error: string, description: string, extra: Partial<TokenRequest> = {}): FakeAnswer => {
      this.tokenRequests.push({ status: 400, error: description, ...extra });
      return { status: 400, body: { error, error_description: description } };
    };
    if (req.method !== 'POST' || req.path !== '/token') return { status: 404, body: 'Not Found' };
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
      return refuse('invalid_request', 'form body expected');
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return refuse('unsupported_grant_type', 'Invalid grant_type');
    const assertion = form.get('assertion') ?? '';
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(assertion);
      const verified = await jwtVerify(assertion, this.publicKey, { algorithms: ['RS256'], currentDate: new Date(this.clock()) });
      claims = verified.payload;
    } catch (err) {
      return refuse('invalid_grant', `Invalid JWT: ${(err as Error).message}`);
    }
    const nowS = Math.floor(this.clock() / 1000);
    const { iss, aud, scope, iat, exp } = claims;
    const problem =
      header.kid !== undefined && header.kid !== this.serviceAccount.private_key_id
        ? 'unknown kid'
        : iss !== this.serviceAccount.client_email
          ? 'iss is not the service account'
          : aud !== this.serviceAccount.token_uri
            ? 'aud is not the token URI'
            : typeof scope !== 'string' || !scope.split(' ').includes(FCM_SCOPE)
              ? 'scope lacks firebase.messaging'
              : typeof iat !== 'number' || typeof exp !== 'number'
                ? 'iat and exp are required'
                : iat > nowS + 60
                  ? 'iat is in the future'
                  : exp - iat > 3600
                    ? 'the assertion may live one hour at most'
                    : undefined;
    if (problem) return refuse('invalid_grant', problem, { claims, header });
    const accessToken = `ya29.fake-${randomBytes(24).toString('base64url')}`;
    const lifetime = this.options.accessTokenLifetimeS ?? 3599;
    this.accessTokens.set(accessToken, this.clock() + lifetime * 1000);
    this.tokenRequests.push({ status: 200, claims, header });
    return { status: 200, body: { access_token: accessToken, expires_in: lifetime, token_type: 'Bearer' } };
  }

  private onSend(req: FakeRequest): FakeAnswer {
    this.counts.requests++;
    const answer = this.answerSend(req);
    if (answer !== 'hang') {
      if (answer.status === 200) this.counts.delivered++;
      else this.counts.rejected++;
    }
    return answer;
  }

  private answerSend(req: FakeRequest): FakeAnswer {
    const match = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.path);
    if (req.method !== 'POST' || !match) return fcmError(404, 'NOT_FOUND', 'The requested URL was not found on this server.');
    const projectId = decodeURIComponent(match[1]!);
    const auth = req.headers.authorization;
    const accessToken = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
    const expiresAt = this.accessTokens.get(accessToken);
    if (expiresAt === undefined || expiresAt <= this.clock() || this.refuseAccessTokens) {
      return fcmError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
    }
    if (projectId !== this.projectId) return fcmError(403, 'PERMISSION_DENIED', `Permission denied on project ${projectId}`);
    if (!String(req.headers['content-type']).startsWith('application/json'))
      return badRequest('Invalid JSON payload received. Content type must be JSON.');
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return badRequest('Invalid JSON payload received. Unexpected token.');
    }
    const invalid = validateBody(body);
    const message = (body as { message: Record<string, unknown> }).message;
    const token = invalid ? '' : (message.token as string);
    const failure = invalid ? undefined : this.failures.take(token);
    if (failure === 'hang') return 'hang';
    let answer: FakeResponse;
    if (invalid) answer = invalid;
    else if (failure) {
      const scripted = FAILURES[failure];
      const retry = (scripted.status === 429 || scripted.status === 503) && this.retryAfter !== undefined;
      answer = retry ? { ...scripted, headers: { 'retry-after': this.retryAfter! } } : scripted;
    } else answer = { status: 200, body: { name: `projects/${projectId}/messages/0:${randomUUID()}` } };
    if (this.options.record !== false && !invalid) {
      this.received.push({ projectId, token, message, accessToken, connection: req.connection, status: answer.status, at: this.clock() });
    }
    return answer;
  }
}
