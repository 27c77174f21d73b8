/**
 * A strict fake Web Push service on loopback (HTTP/1.1, http or https). `subscribe()` plays the browser: it makes a
 * P-256 key pair and a 16-byte auth secret and returns a subscription whose endpoint is this fake. A push message is
 * checked as a push service and the browser would: TTL, Urgency and Topic headers (RFC 8030), the VAPID
 * Authorization (RFC 8292: `vapid t=<ES256 JWT>, k=<public key>`, aud = the endpoint's origin, exp within 24 h,
 * sub mailto: or https:, k = the subscription's applicationServerKey when one was given), `Content-Encoding:
 * aes128gcm`, at most 4096 bytes, and the body is DECRYPTED with the subscription's keys (RFC 8291); the plaintext
 * is recorded. `fail(subscriptionId, status)` scripts errors per subscription; `unsubscribe` makes it answer 410.
 */
import { createECDH, createPublicKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';
import { type WebPushSubscription } from '@tidegate/push';
import { decryptAes128gcm, type UserAgentKeys } from './ece';
import { ScriptBook } from './scripts';
import { type FakeAnswer, type FakeRequest, type FakeResponse, type FakeServer, startHttp1Server } from './servers';
import { type TlsCertificate } from './tls';

export interface FakeWebPushOptions {
  tls?: TlsCertificate;
  clock?: () => number;
  record?: boolean;
}

export interface FakeSubscription extends WebPushSubscription {
  id: string;
}

export interface WebPushReceived {
  subscriptionId: string;
  ttl: number;
  urgency?: string;
  topic?: string;
  vapid: { sub: string; aud: string; exp: number; publicKey: string };
  /** The decrypted payload. */
  plaintext: string;
  recordSize: number;
  connection: number;
  status: number;
}

export type WebPushFailure = { status: number } | 'hang';

interface Subscriber {
  keys: UserAgentKeys;
  applicationServerKey?: string;
  gone: boolean;
}

const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);

const vapidKeys = new Map<string, KeyObject>();

/** The VAPID public key `k` as a key object (imported once per key: a push service sees few distinct keys). */
function vapidKey(k: string): KeyObject {
  let key = vapidKeys.get(k);
  if (!key) {
    key = importVapidKey(k);
    vapidKeys.set(k, key);
  }
  return key;
}

function importVapidKey(k: string): KeyObject {
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 0x04) throw new Error('k is not an uncompressed P-256 public key');
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') },
    format: 'jwk',
  });
}

export class FakeWebPush {
  readonly received: WebPushReceived[] = [];
  readonly counts = { requests: 0, delivered: 0, rejected: 0 };
  /** Why requests were refused (status and a sentence), for tests that check the strictness itself. */
  readonly refusals: Array<{ status: number; why: string }> = [];
  /** Retry-After sent with scripted 429 and 503 answers. */
  retryAfter: string | undefined;
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly failures = new ScriptBook<WebPushFailure>();
  private readonly clock: () => number;

  private constructor(
    private readonly options: FakeWebPushOptions,
    private readonly server: FakeServer,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  static async start(options: FakeWebPushOptions = {}): Promise<FakeWebPush> {
    const ref: { fake?: FakeWebPush } = {};
    const server = await startHttp1Server((req) => ref.fake!.onRequest(req), options.tls);
    ref.fake = new FakeWebPush(options, server);
    return ref.fake;
  }

  get origin(): string {
    return this.server.origin;
  }

  get connections(): number {
    return this.server.connections;
  }

  /** A new browser subscription; pass the VAPID public key to require it (as `applicationServerKey` does). */
  subscribe(options: { applicationServerKey?: string } = {}): FakeSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const id = randomUUID();
    this.subscribers.set(id, { keys: { ecdh, authSecret }, applicationServerKey: options.applicationServerKey, gone: false });
    return {
      id,
      endpoint: `${this.origin}/push/${id}`,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
    };
  }

  /** The browser dropped the subscription: later messages get 410 Gone. */
  unsubscribe(id: string): void {
    const subscriber = this.subscribers.get(id);
    if (subscriber) subscriber.gone = true;
  }

  fail(subscriptionId: string, failure: WebPushFailure, times?: number): void {
    this.failures.set(subscriptionId, failure, times);
  }

  delivered(): WebPushReceived[] {
    return this.received.filter((r) => r.status === 201);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async onRequest(req: FakeRequest): Promise<FakeAnswer> {
    this.counts.requests++;
    const answer = await this.answer(req);
    if (answer !== 'hang') {
      if (answer.status === 201) this.counts.delivered++;
      else this.counts.rejected++;
    }
    return answer;
  }

  private refuse(status: number, why: string): FakeResponse {
    this.refusals.push({ status, why });
    return { status, headers: { 'content-type': 'text/plain' }, body: why };
  }

  private async answer(req: FakeRequest): Promise<FakeAnswer> {
    const match = /^\/push\/([0-9a-f-]+)$/.exec(req.path);
    if (req.method !== 'POST' || !match) return this.refuse(404, 'no such endpoint');
    const id = match[1]!;
    const subscriber = this.subscribers.get(id);
    if (!subscriber) return this.refuse(404, 'unknown subscription');
    if (subscriber.gone) return this.refuse(410, 'the subscription expired');

    const h = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const ttl = h('ttl');
    if (ttl === undefined || !/^\d+$/.test(ttl)) return this.refuse(400, 'TTL header missing or not a number');
    const urgency = h('urgency');
    if (urgency !== undefined && !URGENCIES.has(urgency)) return this.refuse(400, 'bad Urgency');
    const topic = h('topic');
    if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) return this.refuse(400, 'bad Topic');

    const auth = /^vapid\s+(.*)$/i.exec(h('authorization') ?? '');
    if (!auth) return this.refuse(401, 'no vapid Authorization');
    const params = Object.fromEntries(
      auth[1]!.split(',').map((part) => {
        const eq = part.indexOf('=');
        return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
      }),
    );
    const t = params.t;
    const k = params.k;
    if (!t || !k) return this.refuse(401, 'vapid needs t and k');
    const origin = new URL(this.origin).origin;
    let claims: { aud?: unknown; exp?: unknown; sub?: unknown };
    try {
      const verified = await jwtVerify(t, vapidKey(k), { algorithms: ['ES256'], currentDate: new Date(this.clock()) });
      claims = verified.payload;
    } catch (err) {
      return this.refuse(403, `vapid JWT refused: ${(err as Error).message}`);
    }
    const nowS = Math.floor(this.clock() / 1000);
    if (claims.aud !== origin) return this.refuse(403, `vapid aud ${String(claims.aud)} is not ${origin}`);
    if (typeof claims.exp !== 'number' || claims.exp - nowS > 24 * 3600) return this.refuse(403, 'vapid exp more than 24 h ahead');
    if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub))
      return this.refuse(403, 'vapid sub must be mailto: or https:');
    if (subscriber.applicationServerKey !== undefined && subscriber.applicationServerKey !== k) {
      return this.refuse(403, 'k is not the applicationServerKey of the subscription');
    }

    if (h('content-encoding') !== 'aes128gcm') return this.refuse(415, 'Content-Encoding must be aes128gcm');
    if (req.body.length > 4096) return this.refuse(413, 'payload over 4096 bytes');
    let plaintext: Buffer;
    let recordSize: number;
    try {
      ({ plaintext, recordSize } = decryptAes128gcm(req.body, subscriber.keys));
    } catch (err) {
      return this.refuse(400, `cannot decrypt: ${(err as Error).message}`);
    }

    const failure = this.failures.take(id);
    if (failure === 'hang') return 'hang';
    let answer: FakeResponse;
    if (failure) {
      answer = { status: failure.status, headers: { 'content-type': 'text/plain' }, body: `scripted ${failure.status}` };
      if ((failure.status === 429 || failure.status === 503) && this.retryAfter !== undefined)
        answer.headers!['retry-after'] = this.retryAfter;
    } else {
      answer = { status: 201, headers: { location: `${this.origin}/message/${randomUUID()}` } };
    }
    if (this.options.record !== false) {
      this.received.push({
        subscriptionId: id,
        ttl: Number(ttl),
        ...(urgency !== undefined && { urgency }),
        ...(topic !== undefined && { topic }),
        vapid: { sub: claims.sub, aud: claims.aud, exp: claims.exp, publicKey: k },
        plaintext: plaintext.toString('utf8'),
        recordSize,
        connection: req.connection,
        status: answer.status,
      });
    }
    return answer;
  }
}
