import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { FakeApns, ManualClock, selfSignedCertificate } from '../../../test/fakes';
import { ApnsProvider, type ApnsProviderOptions, apnsReason } from './apns';
import { Http2Origin } from './http2-client';
import { type NotificationPayload } from './payload';
import { type PushMessage } from './types';

const MINUTE = 60_000;
const payload: NotificationPayload = {
  title: 'Spring sale',
  body: 'Shoes at half price',
  data: { campaign: 'c42' },
  deepLink: 'shop://sale',
  ttlSeconds: 7200,
  collapseKey: 'spring',
  overrides: { apns: { sound: 'default', badge: 1 } },
};
const message = (token: string, p: NotificationPayload = payload): PushMessage => ({
  deviceId: `d-${token.slice(0, 6)}`,
  target: { platform: 'apns', token },
  payload: p,
});
const devices = (n: number) => Array.from({ length: n }, () => FakeApns.deviceToken());

describe('ApnsProvider against the fake APNs', () => {
  let clock: ManualClock;
  let fake: FakeApns;
  let provider: ApnsProvider;
  const open: ApnsProvider[] = [];
  const make = (options: Partial<ApnsProviderOptions> = {}) => {
    const p = new ApnsProvider({
      teamId: fake.teamId,
      keyId: fake.keyId,
      signingKey: fake.signingKey,
      topic: fake.topic,
      endpoint: fake.endpoint,
      clock: clock.now,
      ...options,
    });
    open.push(p);
    return p;
  };

  beforeEach(async () => {
    clock = new ManualClock();
    fake = await FakeApns.start({ clock: clock.now });
    provider = make();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await fake.close();
  });

  it('sends the headers and JSON body APNs documents, with a valid ES256 provider token', async () => {
    const token = FakeApns.deviceToken();
    const [result] = await provider.send([message(token)]);
    expect(result).toEqual({ deviceId: message(token).deviceId, outcome: 'sent', status: 200 });
    const received = fake.received[0]!;
    expect(received.deviceToken).toBe(token);
    expect(received.headers).toEqual({
      'apns-topic': 'com.example.tidegate',
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-expiration': String(Math.floor(clock.now() / 1000) + 7200),
      'apns-collapse-id': 'spring',
      'content-type': 'application/json',
    });
    expect(received.body).toEqual({
      aps: { alert: { title: 'Spring sale', body: 'Shoes at half price' }, sound: 'default', badge: 1 },
      campaign: 'c42',
      deep_link: 'shop://sale',
    });
    expect(decodeProtectedHeader(received.jwt)).toEqual({ alg: 'ES256', kid: fake.keyId });
    expect(decodeJwt(received.jwt)).toEqual({ iss: fake.teamId, iat: Math.floor(clock.now() / 1000) });
  });

  it('sends normal priority as 5 and a zero TTL as expiration 0', async () => {
    await provider.send([message(FakeApns.deviceToken(), { title: 't', body: 'b', priority: 'normal', ttlSeconds: 0 })]);
    expect(fake.received[0]!.headers).toMatchObject({ 'apns-priority': '5', 'apns-expiration': '0' });
    expect(fake.received[0]!.headers).not.toHaveProperty('apns-collapse-id');
  });

  it('keeps one provider token for 40 minutes, then a new one, never sooner than 20 minutes (fake enforces both)', async () => {
    for (let minute = 0; minute < 40; minute += 5) {
      expect((await provider.send([message(FakeApns.deviceToken())]))[0]!.outcome).toBe('sent');
      clock.advance(5 * MINUTE);
    }
    expect(provider.tokensGenerated).toBe(1);
    for (let minute = 40; minute <= 130; minute += 10) {
      expect((await provider.send([message(FakeApns.deviceToken())]))[0]!.outcome).toBe('sent');
      clock.advance(10 * MINUTE);
    }
    expect(provider.tokensGenerated).toBe(4); // at 0, 40, 80 and 120 minutes
    const issued = fake.providerTokens.map((t) => t.iat);
    expect(issued.slice(1).map((iat, i) => iat - issued[i]!)).toEqual([2400, 2400, 2400]);
  });

  it('refreshes at the configured age (20 minutes at the least)', async () => {
    const eager = make({ tokenRefreshAfterMs: 20 * MINUTE });
    await eager.send([message(FakeApns.deviceToken())]);
    clock.advance(20 * MINUTE - 1000);
    await eager.send([message(FakeApns.deviceToken())]);
    expect(eager.tokensGenerated).toBe(1);
    clock.advance(1000);
    const [result] = await eager.send([message(FakeApns.deviceToken())]);
    expect(result!.outcome).toBe('sent');
    expect(eager.tokensGenerated).toBe(2);
  });

  it('on ExpiredProviderToken signs a new token and sends once more, if the old one is 20 minutes old', async () => {
    await provider.send([message(FakeApns.deviceToken())]);
    clock.advance(25 * MINUTE);
    fake.expireProviderTokens();
    const results = await provider.send(devices(30).map((t) => message(t)));
    expect(results.every((r) => r.outcome === 'sent')).toBe(true);
    expect(provider.tokensGenerated).toBe(2);
  });

  it('does not break the 20-minute rule on ExpiredProviderToken for a young token: retry later instead', async () => {
    await provider.send([message(FakeApns.deviceToken())]);
    clock.advance(5 * MINUTE);
    fake.expireProviderTokens();
    const [result] = await provider.send([message(FakeApns.deviceToken())]);
    expect(result).toMatchObject({ outcome: 'retry', status: 403, reason: 'ExpiredProviderToken' });
    expect(provider.tokensGenerated).toBe(1);
  });

  it('sends many messages as concurrent streams on one HTTP/2 connection, and reconnects after GOAWAY', async () => {
    const first = await provider.send(devices(500).map((t) => message(t)));
    const second = await provider.send(devices(200).map((t) => message(t)));
    expect([...first, ...second].every((r) => r.outcome === 'sent')).toBe(true);
    expect(fake.connections).toBe(1);
    expect(provider.connectionsOpened).toBe(1);
    expect(fake.peakConcurrentRequests).toBeGreaterThan(10);
    fake.goAway();
    const after = await provider.send(devices(20).map((t) => message(t)));
    expect(after.every((r) => r.outcome === 'sent')).toBe(true);
    expect(fake.connections).toBe(2);
  });

  it('keeps to the stream limit the server announces, even in a burst on a new connection', async () => {
    const narrow = await FakeApns.start({ clock: clock.now, maxConcurrentStreams: 5 });
    try {
      const p = new ApnsProvider({
        teamId: narrow.teamId,
        keyId: narrow.keyId,
        signingKey: narrow.signingKey,
        topic: narrow.topic,
        endpoint: narrow.endpoint,
        clock: clock.now,
      });
      open.push(p);
      const results = await p.send(devices(100).map((t) => message(t)));
      expect(results.every((r) => r.outcome === 'sent')).toBe(true);
      expect(narrow.connections).toBe(1);
      expect(narrow.peakConcurrentRequests).toBeLessThanOrEqual(5);
    } finally {
      await Promise.all(open.splice(0).map((p) => p.close()));
      await narrow.close();
    }
  });

  it('maps APNs errors to outcomes', async () => {
    const [ok, gone, expired, bad, topic, busy, oops, down] = devices(8) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    fake.fail(gone, 'Unregistered');
    fake.fail(expired, 'ExpiredToken');
    fake.fail(bad, 'BadDeviceToken');
    fake.fail(topic, 'DeviceTokenNotForTopic');
    fake.fail(busy, 'TooManyRequests');
    fake.fail(oops, 'InternalServerError');
    fake.fail(down, 'ServiceUnavailable');
    fake.retryAfter = '3';
    const results = await provider.send([ok, gone, expired, bad, topic, busy, oops, down].map((t) => message(t)));
    expect(results.map(({ deviceId: _, ...rest }) => rest)).toEqual([
      { outcome: 'sent', status: 200 },
      { outcome: 'invalid_token', status: 410, reason: 'Unregistered' },
      { outcome: 'invalid_token', status: 410, reason: 'ExpiredToken' },
      { outcome: 'invalid_token', status: 400, reason: 'BadDeviceToken' },
      { outcome: 'failed', status: 400, reason: 'DeviceTokenNotForTopic' },
      { outcome: 'retry', status: 429, reason: 'TooManyRequests', retryAfterMs: 3000 },
      { outcome: 'retry', status: 500, reason: 'InternalServerError' },
      { outcome: 'retry', status: 503, reason: 'ServiceUnavailable', retryAfterMs: 3000 },
    ]);
  });

  it('refuses a malformed device token and an oversized payload without a request', async () => {
    const results = await provider.send([message('../../etc'), message(FakeApns.deviceToken(), { title: 't', body: 'x'.repeat(4100) })]);
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['invalid_token', 'BadDeviceToken'],
      ['failed', 'payload_too_large'],
    ]);
    expect(fake.counts.requests).toBe(0);
  });

  it('is refused by APNs with the wrong key or topic (the fake checks them)', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const [forged] = await make({ signingKey: stranger }).send([message(FakeApns.deviceToken())]);
    expect(forged).toMatchObject({ outcome: 'failed', status: 403, reason: 'InvalidProviderToken' });
    const [otherApp] = await make({ topic: 'com.example.other' }).send([message(FakeApns.deviceToken())]);
    expect(otherApp).toMatchObject({ outcome: 'failed', status: 400, reason: 'DeviceTokenNotForTopic' });
  });

  it('answers retry for a request that times out', async () => {
    const quick = make({ timeoutMs: 300 });
    const [slow, fast] = devices(2) as [string, string];
    fake.fail(slow, 'hang');
    const results = await quick.send([message(slow), message(fast)]);
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['retry', 'timeout'],
      ['sent', undefined],
    ]);
  });

  it('works over TLS with a trusted CA', async () => {
    const cert = selfSignedCertificate();
    const secure = await FakeApns.start({ tls: cert });
    try {
      const p = new ApnsProvider({
        teamId: secure.teamId,
        keyId: secure.keyId,
        signingKey: secure.signingKey,
        topic: secure.topic,
        endpoint: secure.endpoint,
        tls: { ca: cert.cert },
      });
      open.push(p);
      const results = await p.send(devices(3).map((t) => message(t)));
      expect(results.map((r) => r.outcome)).toEqual(['sent', 'sent', 'sent']);
    } finally {
      await Promise.all(open.splice(0).map((p) => p.close()));
      await secure.close();
    }
  });
});

describe('the fake APNs is strict', () => {
  let fake: FakeApns;
  let client: Http2Origin;
  const clock = new ManualClock();
  beforeAll(async () => {
    fake = await FakeApns.start({ clock: clock.now });
    client = new Http2Origin(fake.endpoint, { timeoutMs: 5000 });
  });
  afterAll(async () => {
    await client.close();
    await fake.close();
  });

  const jwt = (iatS: number, overrides: { kid?: string; iss?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: overrides.kid ?? fake.keyId })
      .setIssuer(overrides.iss ?? fake.teamId)
      .setIssuedAt(iatS)
      .sign(createPrivateKey(fake.signingKey));
  const post = async (
    headers: Record<string, string>,
    body = '{"aps":{"alert":{"title":"t","body":"b"}}}',
    token = FakeApns.deviceToken(),
  ) => {
    const response = await client.request({ ':method': 'POST', ':path': `/3/device/${token}`, ...headers }, body);
    return { status: response.status, reason: apnsReason(response.body) };
  };

  it('refuses what APNs refuses, with its reasons', async () => {
    const nowS = Math.floor(clock.now() / 1000);
    const good = { authorization: `bearer ${await jwt(nowS)}`, 'apns-topic': fake.topic, 'apns-push-type': 'alert' };
    expect(await post(good)).toEqual({ status: 200, reason: undefined });
    expect(await post({ ...good, authorization: '' })).toEqual({ status: 403, reason: 'MissingProviderToken' });
    expect(await post({ ...good, authorization: `bearer ${await jwt(nowS - 3601)}` })).toEqual({
      status: 403,
      reason: 'ExpiredProviderToken',
    });
    expect(await post({ ...good, authorization: `bearer ${await jwt(nowS, { kid: 'OTHERKEY00' })}` })).toEqual({
      status: 403,
      reason: 'InvalidProviderToken',
    });
    expect(await post({ ...good, authorization: `bearer ${await jwt(nowS, { iss: 'OTHERTEAM0' })}` })).toEqual({
      status: 403,
      reason: 'InvalidProviderToken',
    });
    const { 'apns-topic': _, ...noTopic } = good;
    expect(await post(noTopic)).toEqual({ status: 400, reason: 'MissingTopic' });
    expect(await post({ ...good, 'apns-push-type': 'shout' })).toEqual({ status: 400, reason: 'InvalidPushType' });
    expect(await post({ ...good, 'apns-priority': '7' })).toEqual({ status: 400, reason: 'BadPriority' });
    expect(await post(good, '{"aps":{}}')).toEqual({ status: 400, reason: 'BadPayload' });
    expect(await post(good, JSON.stringify({ aps: { alert: { title: 't', body: 'x'.repeat(4100) } } }))).toEqual({
      status: 413,
      reason: 'PayloadTooLarge',
    });
    expect(await post(good, undefined, 'not-hex')).toEqual({ status: 400, reason: 'BadDeviceToken' });
  });
});
