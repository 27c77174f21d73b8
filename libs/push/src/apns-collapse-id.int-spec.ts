/**
 * A collapse key is the marketer's text; it travels to APNs as the `apns-collapse-id` HTTP/2 header. Node writes a
 * header value's UTF-16 units one byte each (the low byte), so a Korean key arrives mangled: `가을세일` carries a NUL
 * and APNs resets the stream (every iOS delivery fails), `봄세일` carries a control character (dropped), `세일` and
 * `길일` both arrive as `8|` (they collapse into each other). Checked twice: against node:http2 (the fake APNs, as a
 * real server decodes) and against a bare socket that decodes HPACK itself, so the bytes on the wire are seen.
 */
import { FakeApns, ManualClock, RawHttp2Server } from '../../../test/fakes';
import { ApnsProvider } from './apns';
import { type NotificationPayload } from './payload';
import { type PushMessage } from './types';

const KEYS = ['가을세일', '봄세일', '세일', '길일', 'spring-sale', 'Spring sale: shoes & bags'];
/** What an HTTP field value may hold (RFC 9110 §5.5): visible ASCII and spaces, none at either end. */
const FIELD_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

const payloadWith = (collapseKey: string): NotificationPayload => ({ title: 'Sale', body: 'Half price', collapseKey });
const message = (collapseKey: string, token = FakeApns.deviceToken()): PushMessage => ({
  deviceId: `d-${collapseKey}`,
  target: { platform: 'apns', token },
  payload: payloadWith(collapseKey),
});

describe('apns-collapse-id for collapse keys in any script', () => {
  let clock: ManualClock;
  let fake: FakeApns;
  let provider: ApnsProvider;

  beforeEach(async () => {
    clock = new ManualClock();
    fake = await FakeApns.start({ clock: clock.now });
  });
  afterEach(async () => {
    await provider.close();
    await fake.close();
  });

  const providerFor = (endpoint: string) =>
    new ApnsProvider({
      teamId: fake.teamId,
      keyId: fake.keyId,
      signingKey: fake.signingKey,
      topic: fake.topic,
      endpoint,
      clock: clock.now,
    });

  it('node:http2 server: every key is delivered with a valid, distinct collapse id, the same one for the same key', async () => {
    provider = providerFor(fake.endpoint);
    // Each message's key is found by its device token: concurrent streams reach the fake in any order.
    const sent = [...KEYS, ...KEYS].map((key) => ({ key, token: FakeApns.deviceToken() }));
    const keyOf = new Map(sent.map(({ key, token }) => [token, key]));
    const results = await provider.send(sent.map(({ key, token }) => message(key, token)));
    expect(results.map((r) => `${r.deviceId}: ${r.outcome}`)).toEqual([...KEYS, ...KEYS].map((k) => `d-${k}: sent`));

    const idOf = new Map<string, Set<string | undefined>>();
    for (const received of fake.received) {
      const key = keyOf.get(received.deviceToken)!;
      const id = received.headers['apns-collapse-id'];
      idOf.set(key, (idOf.get(key) ?? new Set()).add(id));
    }
    // One id per key, present and header-safe, different for different keys.
    for (const [key, ids] of idOf) {
      expect({ key, ids: [...ids] }).toEqual({ key, ids: [expect.stringMatching(FIELD_VALUE)] });
    }
    const ids = KEYS.map((key) => [...idOf.get(key)!][0]);
    expect(new Set(ids).size).toBe(KEYS.length);
    expect(ids).toContain('spring-sale');
    expect(ids).toContain('Spring sale: shoes & bags');
  });

  describe('bytes on the wire (HPACK decoded by hand)', () => {
    let raw: RawHttp2Server;
    beforeEach(async () => {
      raw = await RawHttp2Server.start();
    });
    afterEach(() => raw.close());

    it('every header value is printable ASCII; distinct keys give distinct collapse ids, ASCII keys go as they are', async () => {
      provider = providerFor(raw.endpoint);
      for (const key of KEYS) expect((await provider.send([message(key)]))[0]!.outcome).toBe('sent');
      expect(raw.errors).toEqual([]);
      expect(raw.requests).toHaveLength(KEYS.length);

      // As bytes: a NUL or a control character must never reach the provider.
      const invalid = raw.requests.flatMap((request, i) =>
        request.fields
          .filter((f) => !FIELD_VALUE.test(f.value.toString('latin1')))
          .map((f) => ({ key: KEYS[i], name: f.name, bytes: f.value.toString('hex') })),
      );
      expect(invalid).toEqual([]);
      const ids = raw.requests.map((request) => {
        const id = request.fields.filter((f) => f.name === 'apns-collapse-id');
        expect(id).toHaveLength(1);
        expect(id[0]!.value.length).toBeLessThanOrEqual(64);
        return id[0]!.value.toString('latin1');
      });
      expect(new Set(ids).size).toBe(KEYS.length);
      expect(ids.slice(4)).toEqual(['spring-sale', 'Spring sale: shoes & bags']);
    });
  });
});
