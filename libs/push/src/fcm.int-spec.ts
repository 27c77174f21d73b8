import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import { FakeFcm, ManualClock, selfSignedCertificate } from '../../../test/fakes';
import { FcmProvider, type FcmProviderOptions, fcmErrorCode } from './fcm';
import { GoogleAccessTokens } from './google-auth';
import { Http1Client } from './http1-client';
import { Http2Origin } from './http2-client';
import { type NotificationPayload } from './payload';
import { type PushMessage } from './types';

const payload: NotificationPayload = {
  title: 'Spring sale',
  body: 'Shoes at half price',
  data: { campaign: 'c42' },
  deepLink: 'https://shop.example/sale',
  ttlSeconds: 3600,
  collapseKey: 'spring',
  overrides: { fcm: { channelId: 'promotions', sound: 'default' } },
};
const message = (token: string, p: NotificationPayload = payload): PushMessage => ({
  deviceId: `d-${token}`,
  target: { platform: 'fcm', token },
  payload: p,
});
const tokens = (n: number, prefix = 'tok') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('FcmProvider against the fake FCM', () => {
  let clock: ManualClock;
  let fake: FakeFcm;
  let provider: FcmProvider;
  const open: FcmProvider[] = [];
  const make = (options: Partial<FcmProviderOptions> = {}) => {
    const p = new FcmProvider({
      serviceAccount: JSON.stringify(fake.serviceAccount),
      endpoint: fake.endpoint,
      clock: clock.now,
      ...options,
    });
    open.push(p);
    return p;
  };

  beforeEach(async () => {
    clock = new ManualClock();
    fake = await FakeFcm.start({ clock: clock.now, accessTokenLifetimeS: 3600 });
    provider = make();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await fake.close();
  });

  it('sends the HTTP v1 body FCM documents, authorised by a token from a verified service-account assertion', async () => {
    const results = await provider.send([message('tok-a'), message('tok-b')]);
    expect(results).toEqual([
      { deviceId: 'd-tok-a', outcome: 'sent', status: 200 },
      { deviceId: 'd-tok-b', outcome: 'sent', status: 200 },
    ]);
    const nowS = Math.floor(clock.now() / 1000);
    expect(fake.tokenRequests).toHaveLength(1);
    expect(fake.tokenRequests[0]).toMatchObject({
      status: 200,
      header: { alg: 'RS256', typ: 'JWT', kid: fake.serviceAccount.private_key_id },
      claims: {
        iss: fake.serviceAccount.client_email,
        scope: 'https://www.googleapis.com/auth/firebase.messaging',
        aud: fake.serviceAccount.token_uri,
        iat: nowS,
        exp: nowS + 3600,
      },
    });
    expect(fake.received.map((r) => r.token).sort()).toEqual(['tok-a', 'tok-b']);
    const received = fake.received.find((r) => r.token === 'tok-a')!;
    expect(received.projectId).toBe('tidegate-test');
    expect(received.message).toEqual({
      token: 'tok-a',
      notification: { title: 'Spring sale', body: 'Shoes at half price' },
      data: { campaign: 'c42', deep_link: 'https://shop.example/sale' },
      android: { priority: 'HIGH', ttl: '3600s', collapse_key: 'spring', notification: { channel_id: 'promotions', sound: 'default' } },
      apns: {
        headers: { 'apns-priority': '10', 'apns-expiration': String(nowS + 3600), 'apns-collapse-id': 'spring' },
        payload: { aps: { sound: 'default' } },
      },
      webpush: { headers: { TTL: '3600', Urgency: 'high' }, fcm_options: { link: 'https://shop.example/sale' } },
    });
  });

  it("puts each message's wave ticket in the data and the deep links of the payload the batch shares", async () => {
    const tickets = ['w2.first-ticket.1', 'w2.second-ticket.2'];
    const results = await provider.send(tickets.map((ticket, i) => ({ ...message(`tok-${i}`), ticket })));
    expect(results.map((r) => r.outcome)).toEqual(['sent', 'sent']);
    for (const [i, ticket] of tickets.entries()) {
      const received = fake.received.find((r) => r.token === `tok-${i}`)!;
      const link = `https://shop.example/sale?tg_wave=${ticket}`;
      expect(received.message).toMatchObject({
        data: { campaign: 'c42', deep_link: link, tg_wave: ticket },
        webpush: { fcm_options: { link } },
      });
    }
    expect(payload.data).toEqual({ campaign: 'c42' });
  });

  it('reuses the access token across sends and refreshes it before it expires', async () => {
    await provider.send([message('a')]);
    clock.advance(50 * 60_000);
    await provider.send([message('b')]);
    expect(provider.tokenExchanges).toBe(1);
    clock.advance(6 * 60_000); // 56 minutes: inside the 5-minute margin of the 1-hour token
    const results = await provider.send([message('c')]);
    expect(results[0]!.outcome).toBe('sent');
    expect(provider.tokenExchanges).toBe(2);
    expect(new Set(fake.received.map((r) => r.accessToken)).size).toBe(2);
  });

  it('on 401 fetches a new access token once (for all concurrent sends) and sends again', async () => {
    await provider.send([message('warm')]);
    fake.revokeAccessTokens();
    const results = await provider.send(tokens(40).map((t) => message(t)));
    expect(results.every((r) => r.outcome === 'sent')).toBe(true);
    expect(provider.tokenExchanges).toBe(2);
    expect(fake.tokenRequests).toHaveLength(2);
  });

  it('gives up after a second 401 in a row', async () => {
    fake.refuseAccessTokens = true;
    const [result] = await provider.send([message('x')]);
    expect(result).toMatchObject({ outcome: 'failed', status: 401, reason: 'UNAUTHENTICATED' });
    expect(provider.tokenExchanges).toBe(2);
  });

  it('sends many messages as concurrent streams on one HTTP/2 connection, and reconnects after GOAWAY', async () => {
    const first = await provider.send(tokens(500).map((t) => message(t)));
    const second = await provider.send(tokens(200, 'again').map((t) => message(t)));
    expect([...first, ...second].every((r) => r.outcome === 'sent')).toBe(true);
    expect(fake.connections).toBe(1);
    expect(provider.connectionsOpened).toBe(1);
    expect(fake.peakConcurrentRequests).toBeGreaterThan(10);
    expect(new Set(fake.received.map((r) => r.connection))).toEqual(new Set([1]));

    fake.goAway();
    const after = await provider.send(tokens(50, 'after').map((t) => message(t)));
    expect(after.every((r) => r.outcome === 'sent')).toBe(true);
    expect(fake.connections).toBe(2);
  });

  it('maps FCM errors to outcomes', async () => {
    fake.fail('gone', 'unregistered');
    fake.fail('bad', 'invalid_argument');
    fake.fail('other', 'sender_id_mismatch');
    fake.fail('quota', 'quota_exceeded');
    fake.fail('down', 'unavailable');
    fake.fail('oops', 'internal');
    fake.fail('apns-cert', 'third_party_auth');
    fake.retryAfter = '7';
    const results = await provider.send(['ok', 'gone', 'bad', 'other', 'quota', 'down', 'oops', 'apns-cert'].map((t) => message(t)));
    expect(results).toEqual([
      { deviceId: 'd-ok', outcome: 'sent', status: 200 },
      { deviceId: 'd-gone', outcome: 'invalid_token', status: 404, reason: 'UNREGISTERED' },
      { deviceId: 'd-bad', outcome: 'failed', status: 400, reason: 'INVALID_ARGUMENT' },
      { deviceId: 'd-other', outcome: 'failed', status: 403, reason: 'SENDER_ID_MISMATCH' },
      { deviceId: 'd-quota', outcome: 'retry', status: 429, reason: 'QUOTA_EXCEEDED', retryAfterMs: 7000 },
      { deviceId: 'd-down', outcome: 'retry', status: 503, reason: 'UNAVAILABLE', retryAfterMs: 7000 },
      { deviceId: 'd-oops', outcome: 'retry', status: 500, reason: 'INTERNAL' },
      { deviceId: 'd-apns-cert', outcome: 'failed', status: 401, reason: 'THIRD_PARTY_AUTH_ERROR' },
    ]);
    expect(provider.tokenExchanges).toBe(1); // a third-party auth error is not ours: no refresh
  });

  it('honours Retry-After given as an HTTP date', async () => {
    fake.fail('quota', 'quota_exceeded');
    fake.retryAfter = new Date(clock.now() + 90_000).toUTCString();
    const [result] = await provider.send([message('quota')]);
    expect(result).toMatchObject({ outcome: 'retry', status: 429, retryAfterMs: 90_000 });
  });

  it('answers retry for a request that times out, without holding up the rest of the batch', async () => {
    const quick = make({ timeoutMs: 300 });
    fake.fail('slow', 'hang');
    const results = await quick.send([message('slow'), message('fast')]);
    expect(results).toEqual([
      { deviceId: 'd-slow', outcome: 'retry', reason: 'timeout' },
      { deviceId: 'd-fast', outcome: 'sent', status: 200 },
    ]);
    expect((await quick.send([message('later')]))[0]!.outcome).toBe('sent');
  });

  it('answers retry when the connection is refused', async () => {
    const port = await closedPort();
    const offline = make({ endpoint: `http://127.0.0.1:${port}` });
    const [result] = await offline.send([message('x')]);
    expect(result).toMatchObject({ outcome: 'retry', reason: 'ECONNREFUSED' });
  });

  it('fails the sends when the token endpoint refuses the assertion (a key that is not the account)', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const impostor = make({ serviceAccount: { ...fake.serviceAccount, private_key: stranger } });
    const [result] = await impostor.send([message('x')]);
    expect(result).toMatchObject({ outcome: 'failed', reason: 'auth:invalid_grant' });
    expect(fake.tokenRequests[0]).toMatchObject({ status: 400, error: expect.stringMatching(/signature/i) as unknown });
    expect(fake.counts.requests).toBe(0);
  });

  it('answers retry when the token endpoint is unreachable', async () => {
    const port = await closedPort();
    const [result] = await make({ serviceAccount: { ...fake.serviceAccount, token_uri: `http://127.0.0.1:${port}/token` } }).send([
      message('x'),
    ]);
    expect(result).toMatchObject({ outcome: 'retry', reason: 'auth:ECONNREFUSED' });
  });

  it('is refused by the token endpoint when its clock is two hours behind (the assertion has expired)', async () => {
    const [result] = await make({ clock: () => clock.now() - 2 * 3600_000 }).send([message('x')]);
    expect(result).toMatchObject({ outcome: 'failed', reason: 'auth:invalid_grant' });
    expect(fake.tokenRequests[0]!.error).toMatch(/exp/);
  });

  it('refuses an oversized payload and a message for another platform without a request', async () => {
    const huge = { ...payload, body: 'x'.repeat(5000) };
    const results = await provider.send([message('a', huge), { deviceId: 'w', target: { platform: 'apns', token: 'ab' }, payload }]);
    expect(results).toEqual([
      { deviceId: 'd-a', outcome: 'failed', reason: 'payload_too_large' },
      { deviceId: 'w', outcome: 'failed', reason: 'wrong_platform' },
    ]);
    expect(fake.counts.requests).toBe(0);
  });

  it('works over TLS (https endpoint and token URI) with a trusted CA', async () => {
    const cert = selfSignedCertificate();
    const secure = await FakeFcm.start({ tls: cert });
    try {
      const p = new FcmProvider({ serviceAccount: secure.serviceAccount, endpoint: secure.endpoint, tls: { ca: cert.cert } });
      open.push(p);
      expect(secure.endpoint).toMatch(/^https:/);
      const results = await p.send([message('tls-1'), message('tls-2')]);
      expect(results.map((r) => r.outcome)).toEqual(['sent', 'sent']);
      expect(secure.connections).toBe(1);
    } finally {
      await Promise.all(open.splice(0).map((p) => p.close()));
      await secure.close();
    }
  });
});

describe('the fake FCM is strict', () => {
  let fake: FakeFcm;
  let client: Http2Origin;
  let accessToken: string;
  beforeAll(async () => {
    fake = await FakeFcm.start();
    client = new Http2Origin(fake.endpoint, { timeoutMs: 5000 });
    const http = new Http1Client({ timeoutMs: 5000 });
    accessToken = await new GoogleAccessTokens(fake.serviceAccount, { http, clock: Date.now }).get();
    http.close();
  });
  afterAll(async () => {
    await client.close();
    await fake.close();
  });

  const send = async (body: unknown, token = accessToken) => {
    const response = await client.request(
      {
        ':method': 'POST',
        ':path': '/v1/projects/tidegate-test/messages:send',
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      JSON.stringify(body),
    );
    return { status: response.status, code: fcmErrorCode(response.body) };
  };

  it('refuses what FCM refuses, in its error format', async () => {
    const notification = { title: 't', body: 'b' };
    expect(await send({ message: { token: 'a', notification } })).toEqual({ status: 200, code: undefined });
    expect(await send({ message: { token: 'a', notification } }, 'stolen')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await send({ message: { token: 'a', notification, priority: 'high' } })).toEqual({ status: 400, code: 'INVALID_ARGUMENT' });
    expect(await send({ message: { token: 'a', topic: 'news', notification } })).toEqual({ status: 400, code: 'INVALID_ARGUMENT' });
    expect(await send({ message: { token: 'a', data: { n: 1 } } })).toEqual({ status: 400, code: 'INVALID_ARGUMENT' });
    expect(await send({ message: { token: 'a', android: { ttl: 3600 } } })).toEqual({ status: 400, code: 'INVALID_ARGUMENT' });
    expect(await send({ message: { token: 'a', data: { big: 'x'.repeat(4100) } } })).toEqual({ status: 400, code: 'INVALID_ARGUMENT' });
  });
});
