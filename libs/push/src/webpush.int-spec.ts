import { generateRequestDetails, generateVAPIDKeys } from 'web-push';
import { FakeWebPush, type FakeSubscription, selfSignedCertificate } from '../../../test/fakes';
import { type NotificationPayload, PAYLOAD_LIMITS, payloadFor } from './payload';
import { type PushMessage } from './types';
import { WebPushProvider, type WebPushProviderOptions } from './webpush';

const vapidKeys = generateVAPIDKeys();
const vapid = { subject: 'mailto:ops@tidegate.example', ...vapidKeys };
const payload: NotificationPayload = {
  title: 'Spring sale',
  body: 'Shoes at half price',
  data: { campaign: 'c42' },
  deepLink: 'https://shop.example/sale',
  ttlSeconds: 3600,
  collapseKey: 'spring',
  overrides: { webpush: { icon: '/icon.png' } },
};
const message = (subscription: FakeSubscription, p: NotificationPayload = payload): PushMessage => ({
  deviceId: `d-${subscription.id.slice(0, 8)}`,
  target: { platform: 'webpush', subscription: { endpoint: subscription.endpoint, keys: subscription.keys } },
  payload: p,
});

describe('WebPushProvider against the fake push service', () => {
  let fake: FakeWebPush;
  let provider: WebPushProvider;
  const open: WebPushProvider[] = [];
  const make = (options: Partial<WebPushProviderOptions> = {}) => {
    const p = new WebPushProvider({ vapid, allowHttp: true, ...options });
    open.push(p);
    return p;
  };
  const subscribe = () => fake.subscribe({ applicationServerKey: vapid.publicKey });

  beforeEach(async () => {
    fake = await FakeWebPush.start();
    provider = make();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await fake.close();
  });

  it('encrypts the payload so the subscriber decrypts exactly what was sent, with valid VAPID and headers', async () => {
    const subscription = subscribe();
    const [result] = await provider.send([message(subscription)]);
    expect(result).toEqual({ deviceId: message(subscription).deviceId, outcome: 'sent', status: 201 });
    const received = fake.received[0]!;
    expect(received.plaintext).toBe(payloadFor('webpush', payload).plaintext);
    expect(JSON.parse(received.plaintext)).toEqual({
      title: 'Spring sale',
      body: 'Shoes at half price',
      data: { campaign: 'c42', deep_link: 'https://shop.example/sale' },
      icon: '/icon.png',
    });
    expect(received).toMatchObject({ ttl: 3600, urgency: 'high', topic: 'spring' });
    expect(received.vapid).toMatchObject({ sub: 'mailto:ops@tidegate.example', aud: fake.origin, publicKey: vapid.publicKey });
    expect(received.vapid.exp * 1000 - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
  });

  it('round-trips any text up to the 3993-byte plaintext limit, which fits the 4096-byte push message', async () => {
    const subscription = subscribe();
    const room = PAYLOAD_LIMITS.webpush - payloadFor('webpush', { title: 'T', body: '' }).size;
    const payloads = ['', 'é ü 日本語 🎉', 'x'.repeat(room)].map((body) => ({ title: 'T', body }));
    const results = await provider.send(payloads.map((p) => message(subscription, p)));
    expect(results.map((r) => r.outcome)).toEqual(['sent', 'sent', 'sent']);
    expect(fake.received.map((r) => r.plaintext).sort()).toEqual(payloads.map((p) => payloadFor('webpush', p).plaintext).sort());
    expect(Math.max(...fake.received.map((r) => Buffer.byteLength(r.plaintext)))).toBe(PAYLOAD_LIMITS.webpush);
  });

  it('maps push-service answers to outcomes', async () => {
    const [ok, gone, unknown, busy, oops, bad, big] = Array.from<unknown, FakeSubscription>({ length: 7 }, subscribe);
    fake.unsubscribe(gone!.id);
    const stranger = { ...unknown!, endpoint: `${fake.origin}/push/00000000-0000-4000-8000-000000000000` };
    fake.fail(busy!.id, { status: 429 });
    fake.fail(oops!.id, { status: 500 });
    fake.fail(bad!.id, { status: 400 });
    fake.fail(big!.id, { status: 413 });
    fake.retryAfter = '11';
    const results = await provider.send([ok!, gone!, stranger, busy!, oops!, bad!, big!].map((s) => message(s)));
    expect(results.map(({ deviceId: _, ...rest }) => rest)).toEqual([
      { outcome: 'sent', status: 201 },
      { outcome: 'invalid_token', status: 410, reason: 'http_410' },
      { outcome: 'invalid_token', status: 404, reason: 'http_404' },
      { outcome: 'retry', status: 429, reason: 'http_429', retryAfterMs: 11_000 },
      { outcome: 'retry', status: 500, reason: 'http_500' },
      { outcome: 'failed', status: 400, reason: 'http_400' },
      { outcome: 'failed', status: 413, reason: 'http_413' },
    ]);
  });

  it('is refused (403, failed) when signing with a key that is not the subscription applicationServerKey', async () => {
    const other = make({ vapid: { subject: 'https://tidegate.example', ...generateVAPIDKeys() } });
    const [result] = await other.send([message(subscribe())]);
    expect(result).toMatchObject({ outcome: 'failed', status: 403 });
    expect(fake.refusals[0]!.why).toMatch(/applicationServerKey/);
  });

  it('treats malformed subscriptions and plain-http endpoints (unless allowed) as invalid, without a request', async () => {
    const subscription = subscribe();
    const strict = make({ allowHttp: false });
    const broken = { ...subscription, keys: { p256dh: 'AAAA', auth: subscription.keys.auth } };
    const results = [
      ...(await provider.send([message(broken), message({ ...subscription, endpoint: 'not a url' })])),
      ...(await strict.send([message(subscription)])),
    ];
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['invalid_token', 'invalid_subscription'],
      ['invalid_token', 'invalid_endpoint'],
      ['invalid_token', 'invalid_endpoint'],
    ]);
    expect(fake.counts.requests).toBe(0);
  });

  it('reuses keep-alive connections', async () => {
    const pooled = make({ maxSocketsPerOrigin: 4 });
    const subscriptions = Array.from({ length: 100 }, subscribe);
    const results = await pooled.send(subscriptions.map((s) => message(s)));
    expect(results.every((r) => r.outcome === 'sent')).toBe(true);
    expect(fake.connections).toBeLessThanOrEqual(4);
  });

  it('answers retry for a request that times out', async () => {
    const quick = make({ timeoutMs: 300 });
    const [slow, fast] = [subscribe(), subscribe()];
    fake.fail(slow.id, 'hang');
    const results = await quick.send([message(slow), message(fast)]);
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['retry', 'timeout'],
      ['sent', undefined],
    ]);
  });

  it('works with an https push service and a trusted CA', async () => {
    const cert = selfSignedCertificate();
    const secure = await FakeWebPush.start({ tls: cert });
    try {
      const p = new WebPushProvider({ vapid, tls: { ca: cert.cert } });
      open.push(p);
      const subscription = secure.subscribe({ applicationServerKey: vapid.publicKey });
      expect(subscription.endpoint).toMatch(/^https:/);
      const [result] = await p.send([message(subscription)]);
      expect(result!.outcome).toBe('sent');
      expect(secure.received[0]!.vapid.aud).toBe(secure.origin);
    } finally {
      await Promise.all(open.splice(0).map((p) => p.close()));
      await secure.close();
    }
  });
});

describe('the fake push service is strict', () => {
  let fake: FakeWebPush;
  beforeAll(async () => {
    fake = await FakeWebPush.start();
  });
  afterAll(() => fake.close());

  const post = async (endpoint: string, headers: Record<string, string | number>, body: Buffer | null) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
      body: body ?? undefined,
    });
    return { status: response.status, text: await response.text() };
  };
  const details = (subscription: FakeSubscription, audienceFrom = subscription.endpoint) =>
    generateRequestDetails({ ...subscription, endpoint: audienceFrom }, 'hello', {
      vapidDetails: vapid,
      TTL: 60,
      contentEncoding: 'aes128gcm',
    });

  it('refuses a tampered ciphertext, a missing or mis-addressed VAPID token, and a missing TTL', async () => {
    const subscription = fake.subscribe();
    const good = details(subscription);
    expect((await post(subscription.endpoint, good.headers, good.body)).status).toBe(201);

    const tampered = Buffer.from(good.body);
    tampered[tampered.length - 20]! ^= 0x01;
    expect(await post(subscription.endpoint, details(subscription).headers, tampered)).toMatchObject({
      status: 400,
      text: expect.stringMatching(/authenticate/) as unknown,
    });

    const { Authorization: _, ...unsigned } = details(subscription).headers;
    expect((await post(subscription.endpoint, unsigned, good.body)).status).toBe(401);

    const elsewhere = details(subscription, 'https://push.elsewhere.example/push/x');
    expect(await post(subscription.endpoint, elsewhere.headers, elsewhere.body)).toMatchObject({
      status: 403,
      text: expect.stringMatching(/aud/) as unknown,
    });

    const { TTL: __, ...noTtl } = details(subscription).headers;
    expect((await post(subscription.endpoint, noTtl, details(subscription).body)).status).toBe(400);
  });
});
