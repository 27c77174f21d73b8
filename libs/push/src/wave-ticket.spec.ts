import fc from 'fast-check';
import { WAVE_TICKET_MAX_LENGTH } from '@tidegate/contracts';
import { PUSH_PLATFORMS } from '@tidegate/domain';
import { apnsHeaders } from './apns';
import { FcmBodies } from './fcm';
import {
  CONTENT_LIMITS,
  PAYLOAD_LIMITS,
  PayloadError,
  checkPayload,
  payloadFor,
  type ContentOverride,
  type NotificationPayload,
} from './payload';
import type { PushMessage } from './types';
import {
  TICKET_SLOT,
  WAVE_TICKET_RESERVED_BYTES,
  fillTicket,
  isSlotTicket,
  messagePayload,
  slotted,
  waveTicketStamper,
  withTicketParam,
  withWaveTicket,
} from './wave-ticket';

const TICKET = `w1.${'A'.repeat(22)}.3.2n9c.t8c5h0.3lc0.${'b'.repeat(22)}`;
const LONGEST = 'w'.repeat(WAVE_TICKET_MAX_LENGTH);

/** Campaign payloads: any text, data, deep links of every shape, overrides of each platform. */
const link = fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.constantFrom('app://x', 'a?', 'a?b=1&', '#f'));
const part = fc.record(
  { title: fc.string(), body: fc.string(), data: fc.dictionary(fc.string({ minLength: 1 }), fc.string()), deepLink: link },
  { requiredKeys: [] },
);
const payload = fc.record(
  {
    title: fc.string(),
    body: fc.string(),
    data: fc.dictionary(fc.string({ minLength: 1 }), fc.string()),
    deepLink: link,
    ttlSeconds: fc.nat({ max: 2_419_200 }),
    priority: fc.constantFrom('high' as const, 'normal' as const),
    collapseKey: fc.string({ minLength: 1, maxLength: 20 }),
    sound: fc.string({ maxLength: 10 }),
    overrides: fc.record({ fcm: part, apns: part, webpush: part }, { requiredKeys: [] }),
  },
  { requiredKeys: ['title', 'body'] },
);

describe('the wave ticket in a push', () => {
  it('goes in the data map and on every deep link, the campaign payload untouched', () => {
    const payload: NotificationPayload = {
      title: 'Sale',
      body: 'Now',
      data: { promo: 'x' },
      deepLink: 'https://shop.example/sale?ref=push#top',
      overrides: { apns: { deepLink: 'shop://sale' }, webpush: { data: { extra: '1' } } },
    };
    const copy = JSON.parse(JSON.stringify(payload)) as NotificationPayload;
    const stamped = withWaveTicket(payload, TICKET);
    expect(payload).toEqual(copy);

    const fcm = payloadFor('fcm', stamped);
    expect(fcm.data).toEqual({ promo: 'x', tg_wave: TICKET, deep_link: `https://shop.example/sale?ref=push&tg_wave=${TICKET}#top` });
    const apns = JSON.parse(payloadFor('apns', stamped).json) as Record<string, unknown>;
    expect(apns.tg_wave).toBe(TICKET);
    expect(apns.deep_link).toBe(`shop://sale?tg_wave=${TICKET}`);
    const web = JSON.parse(payloadFor('webpush', stamped).plaintext) as { data: Record<string, string> };
    expect(web.data).toMatchObject({ tg_wave: TICKET, extra: '1', promo: 'x' });
  });

  it('appends to any deep link', () => {
    expect(withTicketParam('https://a.example/x', 't')).toBe('https://a.example/x?tg_wave=t');
    expect(withTicketParam('https://a.example/x?', 't')).toBe('https://a.example/x?tg_wave=t');
    expect(withTicketParam('https://a.example/x?a=1&', 't')).toBe('https://a.example/x?a=1&tg_wave=t');
    expect(withTicketParam('app://open#frag', 't')).toBe('app://open?tg_wave=t#frag');
  });

  it('always fits: content the check accepts stays within every provider limit with the longest ticket', () => {
    expect(WAVE_TICKET_RESERVED_BYTES).toBeGreaterThanOrEqual(2 * WAVE_TICKET_MAX_LENGTH);
    for (const platform of PUSH_PLATFORMS) {
      expect(CONTENT_LIMITS[platform]).toBe(PAYLOAD_LIMITS[platform] - WAVE_TICKET_RESERVED_BYTES);
      // Grow the body until the content check refuses it; the largest accepted one must still send with a ticket.
      const content = (n: number): NotificationPayload => ({
        title: 't',
        body: 'b'.repeat(n),
        data: { k: 'v' },
        deepLink: 'https://s.example/p?q=1',
      });
      let lo = 0;
      let hi = PAYLOAD_LIMITS[platform];
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (checkPayload(content(mid), [platform]).length === 0) lo = mid;
        else hi = mid - 1;
      }
      const stamped = payloadFor(platform, withWaveTicket(content(lo), LONGEST));
      expect(stamped.size).toBeLessThanOrEqual(PAYLOAD_LIMITS[platform]);
      expect(stamped.size).toBeGreaterThan(PAYLOAD_LIMITS[platform] - 2 * WAVE_TICKET_RESERVED_BYTES);
    }
  });

  it('is a key the content may not use', () => {
    const problems = checkPayload({ title: 't', body: 'b', data: { tg_wave: 'mine' }, overrides: { fcm: { data: { tg_wave: 'x' } } } });
    expect(problems.map((p) => [p.field, p.code])).toEqual([
      ['data.tg_wave', 'reserved_key'],
      ['overrides.fcm.data.tg_wave', 'reserved_key'],
    ]);
  });

  it('keeps a data key or a part field named __proto__ as an own key of the copy (as a spread does)', () => {
    // JSON.parse makes `__proto__` an own property; a copy made with an assignment would call the prototype setter
    // instead and drop it.
    const payload = JSON.parse(
      '{"title":"t","body":"b","data":{"__proto__":"x","k":"v"},"overrides":{"fcm":{"data":{"__proto__":"y"}},"__proto__":"z"}}',
    ) as NotificationPayload;
    const stamped = waveTicketStamper(payload)(TICKET);
    expect(JSON.stringify(stamped)).toBe(
      `{"title":"t","body":"b","data":{"__proto__":"x","k":"v","tg_wave":"${TICKET}"},"overrides":{"fcm":{"data":{"__proto__":"y"}},"__proto__":"z"}}`,
    );
    expect(Object.getPrototypeOf(stamped.data)).toBe(Object.prototype);
  });

  it('stamps a batch as withWaveTicket stamps each copy: the same keys in the same order, the payload untouched', () => {
    // The stamping as first written (spreads per part), for comparison.
    const stampPart = <T extends ContentOverride>(part: T, ticket: string, withData: boolean): T => ({
      ...part,
      ...(withData && { data: { ...part.data, tg_wave: ticket } }),
      ...(part.deepLink !== undefined && { deepLink: withTicketParam(part.deepLink, ticket) }),
    });
    const reference = (p: NotificationPayload, ticket: string): NotificationPayload => {
      const out = stampPart(p, ticket, true);
      const o = p.overrides;
      if (o) {
        out.overrides = {
          ...o,
          ...(o.fcm && { fcm: stampPart(o.fcm, ticket, false) }),
          ...(o.apns && { apns: stampPart(o.apns, ticket, false) }),
          ...(o.webpush && { webpush: stampPart(o.webpush, ticket, false) }),
        };
      }
      return out;
    };
    fc.assert(
      fc.property(payload, fc.array(fc.string({ minLength: 1, maxLength: 96 }), { minLength: 1, maxLength: 5 }), (p, tickets) => {
        const before = JSON.stringify(p);
        const stamp = waveTicketStamper(p);
        for (const ticket of tickets) {
          expect(JSON.stringify(stamp(ticket))).toBe(JSON.stringify(reference(p, ticket)));
          expect(JSON.stringify(withWaveTicket(p, ticket))).toBe(JSON.stringify(reference(p, ticket)));
        }
        expect(JSON.stringify(p)).toBe(before);
      }),
      { numRuns: 300 },
    );
  });
});

describe('ticket slots: a batch shares its payload, each message its ticket', () => {
  const slotTicket = fc.stringMatching(new RegExp(`^[A-Za-z0-9._-]{1,${WAVE_TICKET_MAX_LENGTH}}$`));
  const anyTicket = fc.oneof(slotTicket, fc.string({ minLength: 1, maxLength: 120 }), fc.constant(TICKET));
  const message = (p: NotificationPayload, ticket: string | undefined, platform: 'fcm' | 'apns' | 'webpush'): PushMessage => ({
    deviceId: '1',
    target:
      platform === 'webpush'
        ? { platform, subscription: { endpoint: 'https://push.example/x', keys: { p256dh: 'k', auth: 'a' } } }
        : { platform, token: 'a'.repeat(64) },
    payload: p,
    ...(ticket !== undefined && { ticket }),
  });
  /** How a payload failed to resolve (field and code), or '' for one that resolved. */
  const failure = (r: object) => (r instanceof PayloadError ? `${r.field}:${r.code}` : '');
  const resolved = <P extends 'fcm' | 'apns' | 'webpush'>(platform: P, p: NotificationPayload) => {
    try {
      return payloadFor(platform, p);
    } catch (err) {
      if (err instanceof PayloadError) return err;
      throw err;
    }
  };

  it('writes each provider text exactly as for the payload stamped with the ticket on its own', () => {
    const now = Date.parse('2026-12-07T03:00:00Z');
    fc.assert(
      fc.property(payload, fc.option(anyTicket, { nil: undefined }), (p, ticket) => {
        const own = ticket === undefined ? p : withWaveTicket(p, ticket);
        // FCM: the request body.
        const fcmSlot = resolved('fcm', slotted(message(p, ticket, 'fcm')));
        const fcmOwn = resolved('fcm', own);
        if (!(fcmSlot instanceof PayloadError) && !(fcmOwn instanceof PayloadError)) {
          const bodies = new FcmBodies();
          expect(fillTicket(bodies.body(fcmSlot, 'tok', now), message(p, ticket, 'fcm'))).toBe(new FcmBodies().body(fcmOwn, 'tok', now));
        } else expect(failure(fcmSlot)).toBe(failure(fcmOwn));
        // APNs: the body and the headers.
        const apnsSlot = resolved('apns', slotted(message(p, ticket, 'apns')));
        const apnsOwn = resolved('apns', own);
        if (!(apnsSlot instanceof PayloadError) && !(apnsOwn instanceof PayloadError)) {
          expect(fillTicket(apnsSlot.json, message(p, ticket, 'apns'))).toBe(apnsOwn.json);
          expect(apnsHeaders(apnsSlot, 'app.topic', now)).toEqual(apnsHeaders(apnsOwn, 'app.topic', now));
        } else expect(failure(apnsSlot)).toBe(failure(apnsOwn));
        // Web Push: the plaintext that is encrypted, and the request's options.
        const webSlot = resolved('webpush', slotted(message(p, ticket, 'webpush')));
        const webOwn = resolved('webpush', own);
        if (!(webSlot instanceof PayloadError) && !(webOwn instanceof PayloadError)) {
          expect(fillTicket(webSlot.plaintext, message(p, ticket, 'webpush'))).toBe(webOwn.plaintext);
          expect([webSlot.ttlSeconds, webSlot.urgency, webSlot.topic]).toEqual([webOwn.ttlSeconds, webOwn.urgency, webOwn.topic]);
        } else expect(failure(webSlot)).toBe(failure(webOwn));
        // The payload as the device gets it, as an object.
        expect(JSON.stringify(messagePayload(message(p, ticket, 'fcm')))).toBe(JSON.stringify(own));
      }),
      { numRuns: 500 },
    );
  });

  it('resolves a payload once for all its tickets: one slotted object per payload', () => {
    const p: NotificationPayload = { title: 'Sale', body: 'Now', deepLink: 'https://shop.example/s' };
    const a = slotted(message(p, TICKET, 'fcm'));
    expect(slotted(message(p, LONGEST, 'apns'))).toBe(a);
    expect(a.data?.tg_wave).toBe(TICKET_SLOT);
    expect(slotted(message(p, undefined, 'fcm'))).toBe(p);
    // A ticket that could not take the slot's place (it would need escaping) is stamped into a copy of its own.
    const odd = slotted(message(p, 'a"b&c', 'fcm'));
    expect(odd).not.toBe(a);
    expect(odd.data?.tg_wave).toBe('a"b&c');
  });

  it('keeps the slot as long as the longest ticket, of characters no JSON or URL escapes', () => {
    expect(TICKET_SLOT).toHaveLength(WAVE_TICKET_MAX_LENGTH);
    expect(isSlotTicket(TICKET_SLOT)).toBe(true);
    expect(isSlotTicket(TICKET)).toBe(true);
    expect(isSlotTicket(LONGEST + 'w')).toBe(false);
    expect(isSlotTicket('')).toBe(false);
    expect(isSlotTicket('a b')).toBe(false);
  });
});
