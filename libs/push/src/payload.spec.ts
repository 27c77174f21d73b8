import fc from 'fast-check';
import { PUSH_PLATFORMS } from '@tidegate/domain';
import {
  DEEP_LINK_KEY,
  DEFAULT_TTL_SECONDS,
  type NotificationPayload,
  PAYLOAD_LIMITS,
  PayloadCache,
  PayloadError,
  PayloadTooLargeError,
  checkPayload,
  payloadFor,
  webPushTopic,
} from './payload';

const base: NotificationPayload = { title: 'Spring sale', body: 'Shoes at half price until midnight', data: { campaign: 'c42' } };

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('payloadFor', () => {
  it('gives every platform the title, body, data and the deep link under deep_link', () => {
    const payload = { ...base, deepLink: 'https://shop.example/sale' };
    expect(payloadFor('fcm', payload)).toMatchObject({
      platform: 'fcm',
      title: 'Spring sale',
      data: { campaign: 'c42', [DEEP_LINK_KEY]: 'https://shop.example/sale' },
      ttlSeconds: DEFAULT_TTL_SECONDS,
      priority: 'high',
      limit: 4096,
    });
    expect(JSON.parse(payloadFor('apns', payload).json)).toEqual({
      aps: { alert: { title: 'Spring sale', body: 'Shoes at half price until midnight' } },
      campaign: 'c42',
      deep_link: 'https://shop.example/sale',
    });
    expect(JSON.parse(payloadFor('webpush', payload).plaintext)).toEqual({
      title: 'Spring sale',
      body: 'Shoes at half price until midnight',
      data: { campaign: 'c42', deep_link: 'https://shop.example/sale' },
    });
  });

  it('applies each platform override to its platform only: fields replaced, data merged', () => {
    const payload: NotificationPayload = {
      ...base,
      deepLink: 'app://sale',
      overrides: {
        apns: { title: 'Sale 🍏', data: { campaign: 'ios', extra: '1' }, sound: 'default', badge: 3, threadId: 'sales' },
        fcm: { body: 'Android body', channelId: 'promotions' },
        webpush: { deepLink: 'https://shop.example/web', icon: '/icon.png', urgency: 'low' },
      },
    };
    const apns = payloadFor('apns', payload);
    expect(JSON.parse(apns.json)).toEqual({
      aps: { alert: { title: 'Sale 🍏', body: base.body }, sound: 'default', badge: 3, 'thread-id': 'sales' },
      campaign: 'ios',
      extra: '1',
      deep_link: 'app://sale',
    });
    const fcm = payloadFor('fcm', payload);
    expect(fcm).toMatchObject({ title: 'Spring sale', body: 'Android body', channelId: 'promotions', data: { campaign: 'c42' } });
    const web = payloadFor('webpush', payload);
    expect(web.urgency).toBe('low');
    expect(JSON.parse(web.plaintext)).toMatchObject({
      title: 'Spring sale',
      icon: '/icon.png',
      data: { deep_link: 'https://shop.example/web' },
    });
  });

  it('asks APNs for mutable content when there is an image, and FCM for it in the notification', () => {
    const payload = { ...base, imageUrl: 'https://cdn.example/shoe.jpg' };
    expect(JSON.parse(payloadFor('apns', payload).json)).toMatchObject({
      aps: { 'mutable-content': 1 },
      image_url: 'https://cdn.example/shoe.jpg',
    });
    expect(payloadFor('fcm', payload).imageUrl).toBe('https://cdn.example/shoe.jpg');
    expect(JSON.parse(payloadFor('webpush', payload).plaintext)).toMatchObject({ image: 'https://cdn.example/shoe.jpg' });
  });

  it('maps priority to Web Push urgency and the collapse key to a valid Topic', () => {
    expect(payloadFor('webpush', { ...base, priority: 'normal' }).urgency).toBe('normal');
    expect(payloadFor('webpush', { ...base, collapseKey: 'sale-2026' }).topic).toBe('sale-2026');
    const hashed = payloadFor('webpush', { ...base, collapseKey: 'spring sale: shoes & bags, 2026 edition' }).topic;
    expect(hashed).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('measures APNs by its exact body and Web Push by its exact plaintext, in UTF-8 bytes', () => {
    const payload = { ...base, body: 'é'.repeat(100) };
    const apns = payloadFor('apns', payload);
    expect(apns.size).toBe(Buffer.byteLength(apns.json));
    const web = payloadFor('webpush', payload);
    expect(web.size).toBe(Buffer.byteLength(web.plaintext));
    expect(web.size).toBeGreaterThan(200);
  });

  it('refuses a payload over a provider limit with the size and the limit', () => {
    const payload = { ...base, body: 'x'.repeat(4050) };
    const err = thrown(() => payloadFor('apns', payload));
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err).toMatchObject({ platform: 'apns', code: 'payload_too_large', limit: 4096, field: 'payload' });
    expect((err as PayloadTooLargeError).size).toBeGreaterThan(4096);
    expect(thrown(() => payloadFor('fcm', payload))).toMatchObject({ platform: 'fcm', limit: 4096 });
    // 4000 bytes of body fit FCM and APNs, not the 3993 bytes of Web Push plaintext.
    const smaller = { ...base, body: 'x'.repeat(4000) };
    expect(payloadFor('fcm', smaller).size).toBeLessThanOrEqual(4096);
    expect(payloadFor('apns', smaller).size).toBeLessThanOrEqual(4096);
    expect(thrown(() => payloadFor('webpush', smaller))).toMatchObject({ platform: 'webpush', limit: 3993 });
  });

  it('accepts a payload exactly at the limit and refuses one byte more (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PUSH_PLATFORMS),
        fc.string({ maxLength: 40 }),
        fc.integer({ min: -1, max: 1 }),
        (platform, title, delta) => {
          const empty = payloadFor(platform, { title, body: '' });
          const body = 'b'.repeat(PAYLOAD_LIMITS[platform] - empty.size + delta);
          const payload = { title, body };
          if (delta <= 0) {
            expect(payloadFor(platform, payload).size).toBe(PAYLOAD_LIMITS[platform] + delta);
          } else {
            expect(thrown(() => payloadFor(platform, payload))).toMatchObject({ size: PAYLOAD_LIMITS[platform] + 1 });
          }
        },
      ),
    );
  });

  it('refuses keys a provider reserves and values of the wrong type, naming the field', () => {
    expect(thrown(() => payloadFor('fcm', { ...base, data: { from: 'x' } }))).toMatchObject({ field: 'data.from', code: 'reserved_key' });
    expect(thrown(() => payloadFor('fcm', { ...base, data: { google_x: 'x' } }))).toMatchObject({ code: 'reserved_key' });
    expect(thrown(() => payloadFor('apns', { ...base, data: { aps: 'x' } }))).toMatchObject({ field: 'data.aps', code: 'reserved_key' });
    const numeric = { ...base, data: { count: 3 } } as unknown as NotificationPayload;
    expect(thrown(() => payloadFor('webpush', numeric))).toMatchObject({ field: 'data.count', code: 'invalid_type' });
    expect(thrown(() => payloadFor('apns', { ...base, overrides: { apns: { badge: -1 } } }))).toMatchObject({
      field: 'overrides.apns.badge',
    });
    expect(thrown(() => payloadFor('apns', { ...base, collapseKey: 'k'.repeat(65) }))).toMatchObject({ code: 'too_long' });
    expect(thrown(() => payloadFor('fcm', { ...base, ttlSeconds: 29 * 24 * 3600 }))).toMatchObject({
      field: 'ttlSeconds',
      code: 'out_of_range',
    });
    expect(thrown(() => payloadFor('fcm', { ...base, title: undefined } as unknown as NotificationPayload))).toBeInstanceOf(PayloadError);
  });
});

describe('checkPayload', () => {
  it('lists every problem across platforms once, and nothing for a good payload', () => {
    expect(checkPayload(base)).toEqual([]);
    const problems = checkPayload({ ...base, body: 'x'.repeat(4050), data: { from: 'x', aps: 'y' } });
    expect(problems.map((p) => `${p.platform}:${p.field}:${p.code}`).sort()).toEqual([
      'apns:data.aps:reserved_key',
      'apns:payload:payload_too_large',
      'fcm:data.from:reserved_key',
      'fcm:payload:payload_too_large',
      'webpush:payload:payload_too_large',
    ]);
    expect(checkPayload({ ...base, ttlSeconds: -1 })).toHaveLength(1);
    expect(checkPayload({ ...base, body: 'x'.repeat(3750) }, ['fcm', 'apns'])).toEqual([]);
    // What a provider would take alone is refused: the wave ticket needs its room (CONTENT_LIMITS).
    expect(checkPayload({ ...base, body: 'x'.repeat(4000) }, ['fcm', 'apns']).map((p) => p.code)).toEqual([
      'payload_too_large',
      'payload_too_large',
    ]);
  });
});

describe('PayloadCache', () => {
  it('resolves a shared payload once per object and returns errors instead of throwing', () => {
    const cache = new PayloadCache('apns');
    const first = cache.get(base);
    expect(cache.get(base)).toBe(first);
    expect(cache.get({ ...base, body: 'x'.repeat(5000) })).toBeInstanceOf(PayloadTooLargeError);
  });
});

describe('webPushTopic', () => {
  it('always yields at most 32 base64url characters (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (key) => expect(webPushTopic(key)).toMatch(/^[A-Za-z0-9_-]{1,32}$/)),
    );
  });
});
