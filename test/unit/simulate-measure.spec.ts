/** The surge simulator's measurements (bench/simulate/measure.ts, prng.ts): what its JSON reports rests on these. */
import { fifoInversions, outcome, perSecond, quantile } from '../../bench/simulate/measure';
import { delayHorizon, openDecision } from '../../bench/simulate/prng';
import type { UserRecord } from '../../bench/simulate/protocol';

const user = (deviceId: string, o: Partial<UserRecord>): UserRecord => ({
  deviceId,
  sentAt: 0,
  openedAt: 1000,
  arrivedAt: 1000,
  ticket: null,
  firstEtaSeconds: null,
  firstEtaAt: null,
  admittedAt: null,
  leftAt: null,
  via: null,
  positions: 0,
  positionIncreases: 0,
  disconnects: 0,
  error: null,
  ...o,
});

describe('surge simulator measurements', () => {
  it('counts someone let in more than the tolerance before a smaller ticket as a FIFO inversion', () => {
    const inOrder = [user('1', { ticket: 1, admittedAt: 5000 }), user('2', { ticket: 2, admittedAt: 5200 })];
    expect(fifoInversions(inOrder, 1500)).toBe(0);
    // Ticket 3 heard of its turn 1 s before ticket 2: within the tolerance (ws ticks apart).
    expect(fifoInversions([...inOrder, user('3', { ticket: 3, admittedAt: 4200 })], 1500)).toBe(0);
    // Ticket 4 got in 3 s before tickets 1 and 2: an inversion, counted once.
    expect(fifoInversions([...inOrder, user('4', { ticket: 4, admittedAt: 2000 })], 1500)).toBe(1);
    // Those let in at once (no ticket) are not in the line.
    expect(fifoInversions([...inOrder, user('5', { admittedAt: 0 })], 1500)).toBe(0);
  });

  it('calls lost only those who tapped and got neither a place nor an error, and counts their wait so far', () => {
    const records = [
      user('1', { admittedAt: 1000, via: 'direct' }),
      user('2', { ticket: 1, admittedAt: 11_000, via: 'socket', firstEtaSeconds: 12, firstEtaAt: 1000 }),
      user('3', { ticket: 2, error: 'ticket expired' }),
      user('4', { ticket: 3 }),
      user('5', { openedAt: 0, arrivedAt: null }),
    ];
    const o = outcome(records, 10, 61_000, 1500);
    expect(o).toMatchObject({ pushesReceived: 10, tapped: 4, notTappedByEnd: 1, admitted: 2, admittedAtOnce: 1, errors: 1, lost: 1 });
    expect(o.waitMax).toBe(60); // the lost one, still waiting at the end
    expect(o.etaRatioP50).toBe(1.2); // 12 s shown, 10 s waited
  });

  it('quantiles by nearest rank, and counts per second', () => {
    expect(quantile([], 0.5)).toBe(0);
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([5, 1, 3, 2, 4], 0.95)).toBe(5);
    expect(perSecond([1000, 1500, 2999, 9000], 1000, 3)).toEqual([2, 1, 0]);
  });

  it('draws each device the same way whatever the order, at about the open rate, within the delay horizon', () => {
    const model = { openRate: 0.2, medianSeconds: 5, sigma: 0.8, maxSeconds: delayHorizon(5, 0.8) };
    const draws = Array.from({ length: 20_000 }, (_, i) => openDecision(model, 7, String(i + 1)));
    expect(openDecision(model, 7, '123')).toBe(draws[122]);
    const opened = draws.filter((d): d is number => d !== null);
    expect(opened.length / draws.length).toBeGreaterThan(0.18);
    expect(opened.length / draws.length).toBeLessThan(0.22);
    expect(Math.max(...opened)).toBeLessThanOrEqual(model.maxSeconds);
    expect(quantile(opened, 0.5)).toBeGreaterThan(4.5);
    expect(quantile(opened, 0.5)).toBeLessThan(5.5);
  });
});
