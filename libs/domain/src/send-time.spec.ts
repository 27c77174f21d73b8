import { type QuietHours } from './quiet-hours';
import { nextSendTime } from './send-time';
import { type SendWindow } from './send-window';

const at = (iso: string): Date => new Date(iso);
const parisNight: SendWindow = { start: '01:00', end: '06:00', timezone: 'Europe/Paris' };
const quiet: QuietHours = { start: '22:00', end: '08:00' };

describe('next send time under a window and quiet hours', () => {
  const now = at('2026-06-15T12:00:00+02:00');

  it('sends a Paris night window to New York in their evening, outside their quiet hours', () => {
    // 01:00 Paris is 19:00 in New York: not quiet.
    expect(nextSendTime(parisNight, quiet, 'America/New_York', now)).toEqual(at('2026-06-16T01:00:00+02:00'));
  });

  it('waits inside the window for a recipient whose quiet hours end during it (Tokyo, 08:00 = 01:00 Paris)', () => {
    expect(nextSendTime(parisNight, quiet, 'Asia/Tokyo', now)).toEqual(at('2026-06-16T01:00:00+02:00'));
    expect(nextSendTime(parisNight, quiet, 'Asia/Kolkata', now)).toEqual(at('2026-06-16T04:30:00+02:00'));
  });

  it('finds no time for a recipient in the window zone itself: the rules exclude each other', () => {
    expect(nextSendTime(parisNight, quiet, 'Europe/Paris', now)).toBeNull();
  });

  it('falls back to either rule alone, or to now', () => {
    expect(nextSendTime(null, quiet, 'Europe/Paris', now)).toEqual(at('2026-06-15T12:00:00+02:00'));
    expect(nextSendTime(null, quiet, 'Europe/Paris', at('2026-06-15T23:00:00+02:00'))).toEqual(at('2026-06-16T08:00:00+02:00'));
    expect(nextSendTime(parisNight, null, 'Europe/Paris', now)).toEqual(at('2026-06-16T01:00:00+02:00'));
    expect(nextSendTime(undefined, undefined, undefined, now)).toEqual(now);
  });
});
