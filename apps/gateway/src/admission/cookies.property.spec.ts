/** Properties of the gate's cookie handling against arbitrary Cookie headers (fast-check; the seed prints on failure). */
import fc from 'fast-check';
import { readCookie, serializeCookie, ticketCookie } from './cookies';

/** A cookie value as a client may send one: any text, percent signs and separators included. */
const text = fc.string({ maxLength: 80, unit: 'binary' });
const name = fc.oneof(fc.constant(ticketCookie('shop')), fc.constant('tg_wave'), fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/));

describe('cookies, property-based', () => {
  it('reads any Cookie header without throwing: a string or undefined', () => {
    fc.assert(
      fc.property(fc.option(text, { nil: undefined }), name, (header, cookie) => {
        const value = readCookie(header, cookie);
        expect(value === undefined || typeof value === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back what it wrote, among any other cookies', () => {
    const wellFormed = fc.string({ maxLength: 80, unit: 'grapheme' });
    const otherCookie = fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[^;]{0,20}$/)).map(([k, v]) => `${k}=${v}`);
    fc.assert(
      fc.property(
        name,
        wellFormed,
        fc.array(otherCookie, { maxLength: 4 }),
        fc.array(otherCookie, { maxLength: 4 }),
        (cookie, value, before, after) => {
          fc.pre(![...before, ...after].some((c) => c.split('=')[0] === cookie));
          const pair = serializeCookie(cookie, value, { maxAgeSeconds: 60, secure: true }).split(';')[0]!;
          expect(readCookie([...before, pair, ...after].join('; '), cookie)).toBe(value);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
