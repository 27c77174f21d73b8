import fc from 'fast-check';
import { type SendWindow, isInsideWindow, nextWindowOpen, validateSendWindow, windowCloseAfter, windowIntervals } from './send-window';
import { formatTimeOfDay } from './time-of-day';

const at = (iso: string): Date => new Date(iso);
const HOUR = 3_600_000;

/** The window's opening on the night that starts around `from`, with its length in hours. */
function firstOpening(window: SendWindow, from: string): { opensAt: string; closesAt: string; hours: number } {
  const [interval] = windowIntervals(window, at(from), new Date(at(from).getTime() + 3 * 24 * HOUR), 1);
  if (interval === undefined) throw new Error('no opening');
  return {
    opensAt: interval.opensAt.toISOString(),
    closesAt: interval.closesAt.toISOString(),
    hours: (interval.closesAt.getTime() - interval.opensAt.getTime()) / HOUR,
  };
}

describe('send window: an ordinary day in Paris', () => {
  const paris: SendWindow = { start: '01:00', end: '06:00', timezone: 'Europe/Paris' };

  it('is open from its start (inclusive) to its end (exclusive), in Paris wall-clock time', () => {
    expect(isInsideWindow(paris, at('2026-06-16T00:59:59+02:00'))).toBe(false);
    expect(isInsideWindow(paris, at('2026-06-16T01:00:00+02:00'))).toBe(true);
    expect(isInsideWindow(paris, at('2026-06-16T03:00:00+02:00'))).toBe(true);
    expect(isInsideWindow(paris, at('2026-06-16T05:59:59+02:00'))).toBe(true);
    expect(isInsideWindow(paris, at('2026-06-16T06:00:00+02:00'))).toBe(false);
    expect(isInsideWindow(paris, at('2026-06-16T12:00:00+02:00'))).toBe(false);
  });

  it('opens next at 01:00 the following night, or now when already open', () => {
    expect(nextWindowOpen(paris, at('2026-06-16T12:00:00+02:00'))).toEqual(at('2026-06-17T01:00:00+02:00'));
    expect(nextWindowOpen(paris, at('2026-06-16T06:00:00+02:00'))).toEqual(at('2026-06-17T01:00:00+02:00'));
    expect(nextWindowOpen(paris, at('2026-06-16T00:30:00+02:00'))).toEqual(at('2026-06-16T01:00:00+02:00'));
    expect(nextWindowOpen(paris, at('2026-06-16T03:00:00+02:00'))).toEqual(at('2026-06-16T03:00:00+02:00'));
  });

  it('tells when the current window closes, and null when it is shut', () => {
    expect(windowCloseAfter(paris, at('2026-06-16T03:00:00+02:00'))).toEqual(at('2026-06-16T06:00:00+02:00'));
    expect(windowCloseAfter(paris, at('2026-06-16T01:00:00+02:00'))).toEqual(at('2026-06-16T06:00:00+02:00'));
    expect(windowCloseAfter(paris, at('2026-06-16T06:00:00+02:00'))).toBeNull();
    expect(windowCloseAfter(paris, at('2026-06-16T12:00:00+02:00'))).toBeNull();
  });

  it('lists the openings of a week for a calendar view', () => {
    const week = windowIntervals(paris, at('2026-06-15T12:00:00+02:00'), at('2026-06-22T12:00:00+02:00'));
    expect(week).toHaveLength(7);
    expect(week[0]).toEqual({ opensAt: at('2026-06-16T01:00:00+02:00'), closesAt: at('2026-06-16T06:00:00+02:00') });
    expect(week[6]).toEqual({ opensAt: at('2026-06-22T01:00:00+02:00'), closesAt: at('2026-06-22T06:00:00+02:00') });
  });
});

describe('send window across DST in Europe/Paris', () => {
  const paris: SendWindow = { start: '01:00', end: '06:00', timezone: 'Europe/Paris' };

  it('lasts 4 real hours on the night clocks spring forward (2026-03-29)', () => {
    expect(firstOpening(paris, '2026-03-28T12:00:00+01:00')).toEqual({
      opensAt: at('2026-03-29T01:00:00+01:00').toISOString(),
      closesAt: at('2026-03-29T06:00:00+02:00').toISOString(),
      hours: 4,
    });
    expect(isInsideWindow(paris, at('2026-03-29T03:30:00+02:00'))).toBe(true);
  });

  it('lasts 6 real hours on the night clocks fall back (2026-10-25), both 02:xx hours included', () => {
    expect(firstOpening(paris, '2026-10-24T12:00:00+02:00')).toEqual({
      opensAt: at('2026-10-25T01:00:00+02:00').toISOString(),
      closesAt: at('2026-10-25T06:00:00+01:00').toISOString(),
      hours: 6,
    });
    expect(isInsideWindow(paris, at('2026-10-25T02:30:00+02:00'))).toBe(true);
    expect(isInsideWindow(paris, at('2026-10-25T02:30:00+01:00'))).toBe(true);
  });

  it('opens at the jump when its start falls in the skipped hour', () => {
    const w: SendWindow = { start: '02:30', end: '05:00', timezone: 'Europe/Paris' };
    expect(nextWindowOpen(w, at('2026-03-28T12:00:00+01:00'))).toEqual(at('2026-03-29T03:00:00+02:00'));
    expect(isInsideWindow(w, at('2026-03-29T01:59:00+01:00'))).toBe(false);
  });

  it('closes at the jump when its end falls in the skipped hour', () => {
    const w: SendWindow = { start: '00:00', end: '02:30', timezone: 'Europe/Paris' };
    expect(windowCloseAfter(w, at('2026-03-29T01:00:00+01:00'))).toEqual(at('2026-03-29T03:00:00+02:00'));
    expect(firstOpening(w, '2026-03-28T12:00:00+01:00').hours).toBe(2);
  });

  it('does not open at all on the day a window lies wholly in the skipped hour', () => {
    const w: SendWindow = { start: '02:00', end: '02:30', timezone: 'Europe/Paris' };
    expect(nextWindowOpen(w, at('2026-03-29T00:00:00+01:00'))).toEqual(at('2026-03-30T02:00:00+02:00'));
  });

  it('opens only in the first occurrence of the repeated hour', () => {
    const w: SendWindow = { start: '02:00', end: '02:30', timezone: 'Europe/Paris' };
    expect(isInsideWindow(w, at('2026-10-25T02:15:00+02:00'))).toBe(true);
    expect(isInsideWindow(w, at('2026-10-25T02:15:00+01:00'))).toBe(false);
    expect(windowCloseAfter(w, at('2026-10-25T02:15:00+02:00'))).toEqual(at('2026-10-25T02:30:00+02:00'));
    expect(nextWindowOpen(w, at('2026-10-25T02:15:00+01:00'))).toEqual(at('2026-10-26T02:00:00+01:00'));
  });
});

describe('send window across DST in America/New_York', () => {
  const newYork: SendWindow = { start: '01:00', end: '06:00', timezone: 'America/New_York' };

  it('lasts 4 real hours on 2026-03-08 and 6 on 2026-11-01', () => {
    expect(firstOpening(newYork, '2026-03-07T12:00:00-05:00')).toEqual({
      opensAt: at('2026-03-08T01:00:00-05:00').toISOString(),
      closesAt: at('2026-03-08T06:00:00-04:00').toISOString(),
      hours: 4,
    });
    expect(firstOpening(newYork, '2026-10-31T12:00:00-04:00')).toEqual({
      opensAt: at('2026-11-01T01:00:00-04:00').toISOString(),
      closesAt: at('2026-11-01T06:00:00-05:00').toISOString(),
      hours: 6,
    });
  });

  it('ends with the first 01:30 when the window ends in the repeated hour', () => {
    const w: SendWindow = { start: '00:30', end: '01:30', timezone: 'America/New_York' };
    expect(windowCloseAfter(w, at('2026-11-01T01:00:00-04:00'))).toEqual(at('2026-11-01T01:30:00-04:00'));
    expect(isInsideWindow(w, at('2026-11-01T01:00:00-05:00'))).toBe(false);
  });
});

describe('send windows in other zones', () => {
  it('follows the half-hour offset of Asia/Kolkata', () => {
    const kolkata: SendWindow = { start: '01:00', end: '06:00', timezone: 'Asia/Kolkata' };
    expect(nextWindowOpen(kolkata, at('2026-03-28T12:00:00Z'))).toEqual(at('2026-03-28T19:30:00Z'));
    expect(windowCloseAfter(kolkata, at('2026-03-28T20:00:00Z'))).toEqual(at('2026-03-29T00:30:00Z'));
  });

  it('follows Lord Howe, whose clocks move by 30 minutes (4.5 h in spring, 5.5 h in autumn)', () => {
    const lordHowe: SendWindow = { start: '01:00', end: '06:00', timezone: 'Australia/Lord_Howe' };
    expect(firstOpening(lordHowe, '2026-10-03T12:00:00+10:30').hours).toBe(4.5);
    expect(firstOpening(lordHowe, '2026-04-04T12:00:00+11:00').hours).toBe(5.5);
  });

  it('follows Pacific/Chatham (+12:45 / +13:45)', () => {
    const chatham: SendWindow = { start: '01:00', end: '06:00', timezone: 'Pacific/Chatham' };
    expect(nextWindowOpen(chatham, at('2026-07-01T00:00:00Z'))).toEqual(at('2026-07-02T01:00:00+12:45'));
    expect(nextWindowOpen(chatham, at('2026-01-01T00:00:00Z'))).toEqual(at('2026-01-02T01:00:00+13:45'));
  });

  it('runs to midnight with an end of 24:00', () => {
    const evening: SendWindow = { start: '22:00', end: '24:00', timezone: 'Europe/Paris' };
    expect(windowCloseAfter(evening, at('2026-03-28T23:00:00+01:00'))).toEqual(at('2026-03-29T00:00:00+01:00'));
    expect(isInsideWindow(evening, at('2026-03-29T00:00:00+01:00'))).toBe(false);
    expect(isInsideWindow(evening, at('2026-03-28T23:59:59+01:00'))).toBe(true);
  });
});

describe('send window validation', () => {
  it('accepts a well-formed window', () => {
    expect(validateSendWindow({ start: '01:00', end: '06:00', timezone: 'Europe/Paris' })).toEqual([]);
    expect(validateSendWindow({ start: '22:00', end: '24:00', timezone: 'UTC' })).toEqual([]);
  });

  it('refuses an end before or equal to the start: windows do not cross midnight', () => {
    expect(validateSendWindow({ start: '22:00', end: '02:00', timezone: 'Europe/Paris' })).toEqual([
      expect.objectContaining({ field: 'sendWindow.end', code: 'window_end_not_after_start' }),
    ]);
    expect(validateSendWindow({ start: '06:00', end: '06:00', timezone: 'Europe/Paris' })).toEqual([
      expect.objectContaining({ field: 'sendWindow.end', code: 'window_end_not_after_start' }),
    ]);
  });

  it('refuses the whole day, which is no window', () => {
    expect(validateSendWindow({ start: '00:00', end: '24:00', timezone: 'UTC' })).toEqual([
      expect.objectContaining({ field: 'sendWindow', code: 'window_all_day' }),
    ]);
  });

  it('names each malformed time and the unknown zone', () => {
    expect(validateSendWindow({ start: '1:00', end: '25:00', timezone: 'Europe/Pariss' }, 'schedule.window')).toEqual([
      expect.objectContaining({ field: 'schedule.window.start', code: 'invalid_time' }),
      expect.objectContaining({ field: 'schedule.window.end', code: 'invalid_time' }),
      expect.objectContaining({ field: 'schedule.window.timezone', code: 'unknown_time_zone' }),
    ]);
    expect(validateSendWindow({ start: '24:00', end: '06:00', timezone: 'UTC' })).toEqual([
      expect.objectContaining({ field: 'sendWindow.start', code: 'invalid_time' }),
    ]);
  });

  it('names missing fields and a wrong type', () => {
    expect(validateSendWindow({})).toEqual([
      expect.objectContaining({ field: 'sendWindow.start', code: 'required' }),
      expect.objectContaining({ field: 'sendWindow.end', code: 'required' }),
      expect.objectContaining({ field: 'sendWindow.timezone', code: 'required' }),
    ]);
    expect(validateSendWindow('01:00-06:00')).toEqual([expect.objectContaining({ field: 'sendWindow', code: 'invalid_type' })]);
    expect(validateSendWindow({ start: '01:00', end: '06:00', timezone: 1 })).toEqual([
      expect.objectContaining({ field: 'sendWindow.timezone', code: 'invalid_type' }),
    ]);
  });

  it('makes the functions throw on an invalid window rather than guess', () => {
    expect(() => isInsideWindow({ start: '06:00', end: '01:00', timezone: 'UTC' }, at('2026-06-16T03:00:00Z'))).toThrow(RangeError);
  });
});

describe('send window properties', () => {
  const zones = ['Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'UTC'];
  /** A valid window: start in 00:00–23:59, end after it up to 24:00, not the whole day. */
  const windows = fc
    .tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 }), fc.constantFrom(...zones))
    .filter(([start, length]) => start + length <= 1440 && length < 1440)
    .map(([start, length, timezone]): SendWindow => ({ start: formatTimeOfDay(start), end: formatTimeOfDay(start + length), timezone }));
  /** Instants in 2026, biased towards the DST nights of Paris and New York. */
  const instants = fc.oneof(
    fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
    fc.integer({ min: Date.parse('2026-03-28T00:00:00Z'), max: Date.parse('2026-03-30T00:00:00Z') }),
    fc.integer({ min: Date.parse('2026-10-24T00:00:00Z'), max: Date.parse('2026-10-26T00:00:00Z') }),
    fc.integer({ min: Date.parse('2026-03-07T12:00:00Z'), max: Date.parse('2026-03-09T12:00:00Z') }),
    fc.integer({ min: Date.parse('2026-10-31T12:00:00Z'), max: Date.parse('2026-11-02T12:00:00Z') }),
  );

  it('nextWindowOpen(w, t) is at or after t, inside the window, and t itself when the window is open', () => {
    fc.assert(
      fc.property(windows, instants, (window, ms) => {
        const t = new Date(ms);
        const open = nextWindowOpen(window, t);
        expect(open.getTime()).toBeGreaterThanOrEqual(ms);
        expect(isInsideWindow(window, open)).toBe(true);
        if (isInsideWindow(window, t)) expect(open).toEqual(t);
      }),
      { numRuns: 300 },
    );
  });

  it('windowCloseAfter is after the instant, and the window is shut at it', () => {
    fc.assert(
      fc.property(windows, instants, (window, ms) => {
        const open = nextWindowOpen(window, new Date(ms));
        const close = windowCloseAfter(window, open)!;
        expect(close.getTime()).toBeGreaterThan(open.getTime());
        expect(isInsideWindow(window, close)).toBe(false);
        expect(isInsideWindow(window, new Date(close.getTime() - 1))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
