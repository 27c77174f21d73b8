import fc from 'fast-check';
import { backoffMs, errorReason, parseRetryAfter } from './retry';

const now = Date.UTC(2026, 9, 21, 7, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7_000);
  });

  it('reads an HTTP date (IMF-fixdate, RFC 850, asctime) relative to now, and a past date as 0', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', now)).toBe(28 * 60_000);
    expect(parseRetryAfter('Wednesday, 21-Oct-26 07:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed Oct 21 07:01:00 2026', now)).toBeGreaterThanOrEqual(0);
    expect(parseRetryAfter('Tue, 20 Oct 2026 07:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    for (const value of [undefined, '', 'soon', '-5', '1.5', '+3', '0x10']) expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('reads every whole number of seconds exactly (property)', () => {
    fc.assert(fc.property(fc.nat({ max: 10_000_000 }), (s) => expect(parseRetryAfter(String(s), now)).toBe(s * 1000)));
  });
});

describe('backoffMs', () => {
  it('stays in [c / 2, c), c = min(cap, base * 2^attempt), for any attempt and random draw (property)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, cap, r) => {
          const delay = backoffMs(attempt, base, cap, () => r);
          const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 52));
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(delay).toBeLessThan(Math.max(1, ceiling));
        },
      ),
    );
  });

  it('grows exponentially up to the cap: the smallest draw is half of it, the largest nearly reaches it', () => {
    const top = () => 0.999999;
    expect(backoffMs(0, 100, 10_000, top)).toBe(99);
    expect(backoffMs(3, 100, 10_000, top)).toBe(799);
    expect(backoffMs(10, 100, 10_000, top)).toBe(9_999);
    expect(backoffMs(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffMs(3, 100, 10_000, () => 0)).toBe(400);
    expect(backoffMs(10, 100, 10_000, () => 0)).toBe(5_000);
  });

  it("cannot use up the default 5 attempts (base 1 s) in less than 7.5 s: the guards' time to judge", () => {
    const fastest = [0, 1, 2, 3].reduce((sum, attempt) => sum + backoffMs(attempt, 1000, 60_000, () => 0), 0);
    expect(fastest).toBe(7_500);
  });

  it('is jittered: draws spread across the range', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffMs(5, 100, 60_000)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('errorReason', () => {
  it('prefers the code of the root cause', () => {
    expect(errorReason(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(errorReason(new Error('boom'))).toBe('boom');
    const cancelled = Object.assign(new Error('The pending stream has been canceled'), {
      code: 'ERR_HTTP2_STREAM_CANCEL',
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(errorReason(cancelled)).toBe('ECONNREFUSED');
    expect(errorReason('text')).toBe('text');
  });
});
