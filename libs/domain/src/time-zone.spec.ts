import fc from 'fast-check';
import { formatTimeOfDay, parseTimeOfDay } from './time-of-day';
import { canonicalTimeZone, isValidTimeZone, localDateOf, localDateTime, localToInstant, offsetMs, recipientTimeZone } from './time-zone';

const ms = (iso: string): number => new Date(iso).getTime();
const HOUR = 3_600_000;

describe('time zones', () => {
  it('knows IANA zones and links, case-insensitively, and nothing else', () => {
    for (const zone of [
      'Europe/Paris',
      'America/New_York',
      'Asia/Kolkata',
      'Asia/Calcutta',
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'UTC',
      'utc',
    ]) {
      expect(isValidTimeZone(zone)).toBe(true);
    }
    // UTC offsets too, which Node 24 accepts as an Intl timeZone and Node 20 refused.
    const offsets = ['+05:30', '+0530', '-08:00', '+05', '\u221205:00'];
    for (const bad of ['Mars/Olympus_Mons', 'Europe/Pariss', '', ...offsets, 'Z', 'x'.repeat(100), 42, null, undefined]) {
      expect(isValidTimeZone(bad)).toBe(false);
    }
    expect(canonicalTimeZone('europe/paris')).toBe('Europe/Paris');
    expect(canonicalTimeZone('Nowhere/Town')).toBeNull();
  });

  it('falls back to UTC for a recipient without a zone or with an unknown one', () => {
    expect(recipientTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(recipientTimeZone(undefined)).toBe('UTC');
    expect(recipientTimeZone(null)).toBe('UTC');
    expect(recipientTimeZone('')).toBe('UTC');
    expect(recipientTimeZone('Mars/Olympus_Mons')).toBe('UTC');
  });

  it('gives half-hour, 45-minute and 30-minute-DST offsets', () => {
    expect(offsetMs('Asia/Kolkata', ms('2026-01-15T12:00:00Z'))).toBe(5.5 * HOUR);
    expect(offsetMs('Pacific/Chatham', ms('2026-01-15T12:00:00Z'))).toBe(13.75 * HOUR);
    expect(offsetMs('Pacific/Chatham', ms('2026-07-15T12:00:00Z'))).toBe(12.75 * HOUR);
    expect(offsetMs('Australia/Lord_Howe', ms('2026-01-15T12:00:00Z'))).toBe(11 * HOUR);
    expect(offsetMs('Australia/Lord_Howe', ms('2026-07-15T12:00:00Z'))).toBe(10.5 * HOUR);
    expect(offsetMs('America/New_York', ms('2026-01-15T12:00:00Z'))).toBe(-5 * HOUR);
  });

  it('reads the local date and time of an instant', () => {
    expect(localDateTime('Asia/Kolkata', ms('2026-03-28T19:30:00Z'))).toEqual({
      year: 2026,
      month: 3,
      day: 29,
      hour: 1,
      minute: 0,
      second: 0,
    });
    expect(localDateOf('America/New_York', ms('2026-03-01T03:00:00Z'))).toEqual({ year: 2026, month: 2, day: 28 });
  });

  it('resolves an ordinary wall-clock time to its one instant', () => {
    expect(localToInstant('Europe/Paris', { year: 2026, month: 6, day: 15 }, 90)).toBe(ms('2026-06-15T01:30:00+02:00'));
    expect(localToInstant('Asia/Kolkata', { year: 2026, month: 6, day: 15 }, 60)).toBe(ms('2026-06-15T01:00:00+05:30'));
    expect(localToInstant('Europe/Paris', { year: 2026, month: 12, day: 31 }, 1440)).toBe(ms('2027-01-01T00:00:00+01:00'));
  });

  it('moves a time in the skipped hour to the instant the clocks jump (Paris and New York spring forward)', () => {
    const paris = { year: 2026, month: 3, day: 29 };
    expect(localToInstant('Europe/Paris', paris, 120)).toBe(ms('2026-03-29T03:00:00+02:00'));
    expect(localToInstant('Europe/Paris', paris, 150)).toBe(ms('2026-03-29T03:00:00+02:00'));
    expect(localToInstant('Europe/Paris', paris, 180)).toBe(ms('2026-03-29T03:00:00+02:00'));
    expect(localToInstant('Europe/Paris', paris, 119)).toBe(ms('2026-03-29T01:59:00+01:00'));
    expect(localToInstant('America/New_York', { year: 2026, month: 3, day: 8 }, 150)).toBe(ms('2026-03-08T03:00:00-04:00'));
  });

  it('takes the first occurrence of a time in the repeated hour (Paris and New York fall back)', () => {
    expect(localToInstant('Europe/Paris', { year: 2026, month: 10, day: 25 }, 150)).toBe(ms('2026-10-25T02:30:00+02:00'));
    expect(localToInstant('Europe/Paris', { year: 2026, month: 10, day: 25 }, 180)).toBe(ms('2026-10-25T03:00:00+01:00'));
    expect(localToInstant('America/New_York', { year: 2026, month: 11, day: 1 }, 90)).toBe(ms('2026-11-01T01:30:00-04:00'));
  });

  it('handles Lord Howe, whose clocks move by 30 minutes', () => {
    // 2026-10-04 02:00 +10:30 becomes 02:30 +11:00; 2026-04-05 02:00 +11:00 becomes 01:30 +10:30.
    expect(localToInstant('Australia/Lord_Howe', { year: 2026, month: 10, day: 4 }, 135)).toBe(ms('2026-10-04T02:30:00+11:00'));
    expect(localToInstant('Australia/Lord_Howe', { year: 2026, month: 4, day: 5 }, 105)).toBe(ms('2026-04-05T01:45:00+11:00'));
  });

  it('round-trips: an instant resolves to itself, or to the first occurrence of its wall-clock time', () => {
    const zones = ['Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'UTC'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: ms('2026-01-01T00:00:00Z') / 60_000, max: ms('2027-01-01T00:00:00Z') / 60_000 }),
        (zone, minute) => {
          const t = minute * 60_000;
          const local = localDateTime(zone, t);
          const resolved = localToInstant(zone, local, local.hour * 60 + local.minute);
          expect(resolved).toBeLessThanOrEqual(t);
          expect(localDateTime(zone, resolved)).toEqual(local);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('times of day', () => {
  it('parses HH:MM strictly, and 24:00 only where the end of the day is allowed', () => {
    expect(parseTimeOfDay('00:00')).toBe(0);
    expect(parseTimeOfDay('01:30')).toBe(90);
    expect(parseTimeOfDay('23:59')).toBe(1439);
    for (const bad of ['24:00', '1:00', '01:0', '25:00', '12:60', '12:00:00', ' 01:00', 'noon', '', 90, null])
      expect(parseTimeOfDay(bad)).toBeNull();
    expect(parseTimeOfDay('24:00', { allowEndOfDay: true })).toBe(1440);
    expect(formatTimeOfDay(90)).toBe('01:30');
    expect(formatTimeOfDay(1440)).toBe('24:00');
  });
});
