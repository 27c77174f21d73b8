import fc from 'fast-check';
import { FcmBodies, fcmRequest } from './fcm';
import { type FcmPayload, type NotificationPayload, payloadFor } from './payload';

const base: NotificationPayload = { title: 'Spring sale', body: 'Everything -30% until midnight', data: { sku: '42' } };

describe('FcmBodies', () => {
  it('writes the JSON of fcmRequest byte for byte, for any payload, token and time', () => {
    const payloads = fc.record(
      {
        title: fc.string({ minLength: 1, maxLength: 40 }),
        body: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        data: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), fc.string({ unit: 'grapheme', maxLength: 12 }), { maxKeys: 3 }),
        deepLink: fc.constantFrom('https://shop.example/sale', 'myapp://sale', 'https://x.example/a?b="c"'),
        imageUrl: fc.constant('https://img.example/a.png'),
        ttlSeconds: fc.integer({ min: 0, max: 28 * 24 * 3600 }),
        priority: fc.constantFrom('high' as const, 'normal' as const),
        collapseKey: fc.stringMatching(/^[a-z0-9-]{1,20}$/),
        overrides: fc.record(
          {
            fcm: fc.record(
              { channelId: fc.string({ maxLength: 8 }), sound: fc.string({ maxLength: 8 }), clickAction: fc.string({ maxLength: 8 }) },
              { requiredKeys: [] },
            ),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['title', 'body'] },
    );
    fc.assert(
      fc.property(
        payloads,
        fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 160 }), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 })), {
          minLength: 1,
          maxLength: 5,
        }),
        (input, sends) => {
          let payload: FcmPayload;
          try {
            payload = payloadFor('fcm', input as NotificationPayload);
          } catch {
            return; // refused payloads never reach the body
          }
          const bodies = new FcmBodies();
          for (const [token, nowMs] of sends) {
            expect(bodies.body(payload, token, nowMs)).toBe(JSON.stringify(fcmRequest(payload, token, nowMs)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('follows the clock: the APNs expiration of each body is its own second plus the TTL', () => {
    const payload = payloadFor('fcm', { ...base, ttlSeconds: 60 });
    const bodies = new FcmBodies();
    const expiration = (text: string) =>
      (JSON.parse(text) as { message: { apns: { headers: Record<string, string> } } }).message.apns.headers['apns-expiration'];
    expect(expiration(bodies.body(payload, 'a', 1_700_000_000_999))).toBe('1700000060');
    expect(expiration(bodies.body(payload, 'b', 1_700_000_001_000))).toBe('1700000061');
    expect(expiration(bodies.body(payload, 'c', 1_700_000_000_000))).toBe('1700000060');
  });
});
