import { bestIdleWindow, hourOfWeek, HOURS_PER_WEEK, weekTime, type TrafficHour } from './idle-window';

/** A week where every hour has `base` active, except the hours given. */
function week(base: number, overrides: Record<number, number> = {}, unobserved: number[] = []): TrafficHour[] {
  return Array.from({ length: HOURS_PER_WEEK }, (_, h) => ({
    hourOfWeek: h,
    meanActive: overrides[h] ?? base,
    samples: unobserved.includes(h) ? 0 : 60,
  }));
}

describe('idle window', () => {
  it('numbers hours of the week from Monday 00:00 UTC', () => {
    expect(hourOfWeek(Date.UTC(2026, 11, 7, 0, 30))).toBe(0); // Monday 7 December 2026
    expect(hourOfWeek(Date.UTC(2026, 11, 6, 23, 59))).toBe(167); // Sunday
    expect(hourOfWeek(Date.UTC(2026, 11, 9, 14, 0))).toBe(2 * 24 + 14); // Wednesday 14:00
    expect(weekTime(2 * 24 + 14)).toEqual({ day: 'wednesday', hour: 14 });
  });

  it('picks the window with the most spare capacity', () => {
    // Busy all week (800 of 1000) except Tuesday 03:00-06:00 (100).
    const quiet = { [24 + 3]: 100, [24 + 4]: 100, [24 + 5]: 100 };
    const w = bestIdleWindow(week(800, quiet), 1000, 3);
    expect(w).toMatchObject({
      startHourOfWeek: 27,
      endHourOfWeek: 30,
      start: { day: 'tuesday', hour: 3 },
      end: { day: 'tuesday', hour: 6 },
      timeZone: 'UTC',
      hours: 3,
      meanSpare: 900,
      minSpare: 900,
    });
  });

  it('weighs the whole window: a long dip beats one quieter hour among busy ones', () => {
    const curve = week(900, { 10: 0, 50: 300, 51: 300 });
    expect(bestIdleWindow(curve, 1000, 2)?.startHourOfWeek).toBe(50);
  });

  it('wraps from Sunday night into Monday', () => {
    const w = bestIdleWindow(week(500, { 167: 0, 0: 0 }), 1000, 2);
    expect(w).toMatchObject({
      startHourOfWeek: 167,
      endHourOfWeek: 1,
      start: { day: 'sunday', hour: 23 },
      end: { day: 'monday', hour: 1 },
    });
  });

  it('chooses the earliest start on a tie', () => {
    expect(bestIdleWindow(week(100), 1000, 4)?.startHourOfWeek).toBe(0);
  });

  it('considers only windows whose every hour was observed', () => {
    const curve = week(500, { 5: 0, 6: 0 }, [6]);
    const w = bestIdleWindow(curve, 1000, 2);
    expect(w?.startHourOfWeek).not.toBe(5);
    expect(w?.startHourOfWeek).not.toBe(6);
  });

  it('has no suggestion with nothing observed, or for a window length out of range', () => {
    expect(bestIdleWindow([], 1000, 2)).toBeNull();
    expect(bestIdleWindow(week(100), 1000, 0)).toBeNull();
    expect(bestIdleWindow(week(100), 1000, 1.5)).toBeNull();
    expect(bestIdleWindow(week(100), 1000, 169)).toBeNull();
  });

  it('reports negative spare when the room is over capacity all week', () => {
    expect(bestIdleWindow(week(1200, { 40: 1100 }), 1000, 1)).toMatchObject({ startHourOfWeek: 40, meanSpare: -100 });
  });
});
