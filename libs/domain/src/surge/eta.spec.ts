import { etaSeconds } from './eta';

const room = { totalActiveUsers: 1000, newUsersPerMinute: 600, sessionSeconds: 120 };

describe('ETA', () => {
  it('early in a surge (places free, nothing measured yet): the admission rate', () => {
    expect(etaSeconds(100, { capacity: room, active: 0, measuredPerMinute: null })).toBe(10);
  });

  it('once the room is full: places / session, corrected by what is measured', () => {
    // min(10/s, 1000/120 ≈ 8.33/s): 100 people take 12 s.
    expect(etaSeconds(100, { capacity: room, active: 1000, measuredPerMinute: null })).toBe(12);
    expect(etaSeconds(1000, { capacity: room, active: 1000, measuredPerMinute: null })).toBe(120);
    // Sessions far shorter than configured turn places over faster: the measured 600/min pulls it down.
    expect(etaSeconds(1000, { capacity: room, active: 1000, measuredPerMinute: 600 })).toBe(114);
    // Never faster than the admission rate.
    expect(etaSeconds(1000, { capacity: room, active: 1000, measuredPerMinute: 6000 })).toBe(100);
  });

  it('reacts at once to a capacity change', () => {
    const before = etaSeconds(500, { capacity: room, active: 1000, measuredPerMinute: 500 }) as number;
    const after = etaSeconds(500, {
      capacity: { ...room, totalActiveUsers: 2000, newUsersPerMinute: 1200 },
      active: 1000,
      measuredPerMinute: 500,
    }) as number;
    expect(after).toBeLessThan(before / 2);
  });

  it('is 0 at the door and unknown when the room admits nobody', () => {
    expect(etaSeconds(0, { capacity: room, active: 0, measuredPerMinute: null })).toBe(0);
    expect(etaSeconds(5, { capacity: { ...room, newUsersPerMinute: 0 }, active: 0, measuredPerMinute: null })).toBeNull();
  });
});
