import fc from 'fast-check';
import { type QuietHours, isQuiet, quietUntil, splitByQuietHours, validateQuietHours } from './quiet-hours';
import { formatTimeOfDay } from './time-of-day';

const at = (iso: string): Date => new Date(iso);
const night: QuietHours = { start: '22:00', end: '08:00' };

describe('quiet hours for recipients around the world at one instant (2026-06-15T21:30:00Z)', () => {
  const now = at('2026-06-15T21:30:00Z');

  it('holds Paris (23:30) until 08:00 Paris time', () => {
    expect(isQuiet(night, 'Europe/Paris', now)).toBe(true);
    expect(quietUntil(night, 'Europe/Paris', now)).toEqual(at('2026-06-16T08:00:00+02:00'));
  });

  it('lets New York (17:30) receive now', () => {
    expect(isQuiet(night, 'America/New_York', now)).toBe(false);
    expect(quietUntil(night, 'America/New_York', now)).toEqual(now);
  });

  it('holds Kolkata (03:00, half-hour offset) until 08:00 India time', () => {
    expect(isQuiet(night, 'Asia/Kolkata', now)).toBe(true);
    expect(quietUntil(night, 'Asia/Kolkata', now)).toEqual(at('2026-06-16T08:00:00+05:30'));
  });

  it('holds Tokyo (06:30) until 08:00 the same morning', () => {
    expect(quietUntil(night, 'Asia/Tokyo', now)).toEqual(at('2026-06-16T08:00:00+09:00'));
  });

  it('lets Lord Howe (exactly 08:00) receive: quiet hours end at their end time', () => {
    expect(isQuiet(night, 'Australia/Lord_Howe', now)).toBe(false);
    expect(isQuiet(night, 'Australia/Lord_Howe', new Date(now.getTime() - 1))).toBe(true);
  });

  it('uses UTC (21:30: not yet quiet) for a device without a zone or with an unknown one', () => {
    for (const zone of [undefined, null, '', 'Mars/Olympus_Mons']) {
      expect(isQuiet(night, zone, now)).toBe(false);
      expect(isQuiet(night, zone, at('2026-06-15T22:00:00Z'))).toBe(true);
      expect(quietUntil(night, zone, at('2026-06-15T22:00:00Z'))).toEqual(at('2026-06-16T08:00:00Z'));
    }
  });

  it('splits a batch into who is sent now and who is held until when', () => {
    const batch = [
      { id: 'paris', timezone: 'Europe/Paris' },
      { id: 'ny', timezone: 'America/New_York' },
      { id: 'tokyo', timezone: 'Asia/Tokyo' },
      { id: 'nozone', timezone: null },
      { id: 'paris-2', timezone: 'Europe/Paris' },
      { id: 'la', timezone: 'America/Los_Angeles' },
    ];
    const split = splitByQuietHours(batch, night, now);
    expect(split.ready.map((r) => r.id)).toEqual(['ny', 'nozone', 'la']);
    expect(split.held.map((h) => [h.until.toISOString(), h.recipients.map((r) => r.id)])).toEqual([
      ['2026-06-15T23:00:00.000Z', ['tokyo']],
      ['2026-06-16T06:00:00.000Z', ['paris', 'paris-2']],
    ]);
    expect(splitByQuietHours(batch, null, now).ready).toHaveLength(6);
  });
});

describe('quiet hours across DST', () => {
  it('lasts 9 real hours on the Paris spring-forward night and 11 on the fall-back night', () => {
    expect(quietUntil(night, 'Europe/Paris', at('2026-03-28T22:00:00+01:00'))).toEqual(at('2026-03-29T08:00:00+02:00'));
    expect(at('2026-03-29T08:00:00+02:00').getTime() - at('2026-03-28T22:00:00+01:00').getTime()).toBe(9 * 3_600_000);
    expect(quietUntil(night, 'Europe/Paris', at('2026-10-24T22:00:00+02:00'))).toEqual(at('2026-10-25T08:00:00+01:00'));
    expect(isQuiet(night, 'Europe/Paris', at('2026-10-24T21:59:59+02:00'))).toBe(false);
  });

  it('ends at the jump when the end time is skipped (New York, 2026-03-08)', () => {
    const q: QuietHours = { start: '22:00', end: '02:30' };
    expect(quietUntil(q, 'America/New_York', at('2026-03-08T01:00:00-05:00'))).toEqual(at('2026-03-08T03:00:00-04:00'));
    expect(isQuiet(q, 'America/New_York', at('2026-03-08T03:00:00-04:00'))).toBe(false);
  });

  it('starts at the first occurrence of a repeated time and covers the second (New York, 2026-11-01)', () => {
    const q: QuietHours = { start: '01:30', end: '07:00' };
    expect(isQuiet(q, 'America/New_York', at('2026-11-01T01:15:00-04:00'))).toBe(false);
    expect(isQuiet(q, 'America/New_York', at('2026-11-01T01:30:00-04:00'))).toBe(true);
    expect(isQuiet(q, 'America/New_York', at('2026-11-01T01:15:00-05:00'))).toBe(true);
    expect(quietUntil(q, 'America/New_York', at('2026-11-01T01:15:00-05:00'))).toEqual(at('2026-11-01T07:00:00-05:00'));
  });

  it('follows Lord Howe across its 30-minute change (2026-10-04)', () => {
    expect(quietUntil(night, 'Australia/Lord_Howe', at('2026-10-03T23:00:00+10:30'))).toEqual(at('2026-10-04T08:00:00+11:00'));
  });
});

describe('quiet hours within one day', () => {
  it('holds during an afternoon span that does not cross midnight', () => {
    const siesta: QuietHours = { start: '13:00', end: '15:00' };
    expect(isQuiet(siesta, 'Europe/Madrid', at('2026-06-15T14:00:00+02:00'))).toBe(true);
    expect(isQuiet(siesta, 'Europe/Madrid', at('2026-06-15T23:00:00+02:00'))).toBe(false);
    expect(quietUntil(siesta, 'Europe/Madrid', at('2026-06-15T13:00:00+02:00'))).toEqual(at('2026-06-15T15:00:00+02:00'));
  });
});

describe('quiet hours validation', () => {
  it('accepts spans in either direction', () => {
    expect(validateQuietHours({ start: '22:00', end: '08:00' })).toEqual([]);
    expect(validateQuietHours({ start: '13:00', end: '15:00' })).toEqual([]);
  });

  it('names malformed, missing and equal times', () => {
    expect(validateQuietHours({ start: '22h', end: '24:00' })).toEqual([
      expect.objectContaining({ field: 'quietHours.start', code: 'invalid_time' }),
      expect.objectContaining({ field: 'quietHours.end', code: 'invalid_time' }),
    ]);
    expect(validateQuietHours({ end: '08:00' })).toEqual([expect.objectContaining({ field: 'quietHours.start', code: 'required' })]);
    expect(validateQuietHours({ start: '08:00', end: '08:00' })).toEqual([
      expect.objectContaining({ field: 'quietHours.end', code: 'quiet_hours_empty' }),
    ]);
    expect(validateQuietHours([])).toEqual([expect.objectContaining({ field: 'quietHours', code: 'invalid_type' })]);
    expect(() => isQuiet({ start: '8:00', end: '22:00' }, 'UTC', at('2026-06-15T12:00:00Z'))).toThrow(RangeError);
  });
});

describe('quiet hours properties', () => {
  const zones = ['Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'UTC', 'Not/A_Zone'];
  const quietHours = fc
    .tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 0, max: 1439 }))
    .filter(([start, end]) => start !== end)
    .map(([start, end]): QuietHours => ({ start: formatTimeOfDay(start), end: formatTimeOfDay(end) }));
  const instants = fc.oneof(
    fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
    fc.integer({ min: Date.parse('2026-03-28T00:00:00Z'), max: Date.parse('2026-03-30T00:00:00Z') }),
    fc.integer({ min: Date.parse('2026-10-31T12:00:00Z'), max: Date.parse('2026-11-02T12:00:00Z') }),
  );

  it('is never quiet at quietUntil, which is at or after the instant, and the instant itself when not quiet', () => {
    fc.assert(
      fc.property(quietHours, fc.constantFrom(...zones), instants, (q, zone, ms) => {
        const t = new Date(ms);
        const until = quietUntil(q, zone, t);
        expect(until.getTime()).toBeGreaterThanOrEqual(ms);
        expect(isQuiet(q, zone, until)).toBe(false);
        if (!isQuiet(q, zone, t)) expect(until).toEqual(t);
        else expect(isQuiet(q, zone, new Date(until.getTime() - 1))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
