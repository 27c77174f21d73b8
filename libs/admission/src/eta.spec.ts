import { estimateWaitSeconds, roomEtaSeconds, roomPressure } from './eta';

const capacity = { totalActiveUsers: 1000, newUsersPerMinute: 600, sessionDurationSeconds: 120 };

describe('waiting estimates', () => {
  it('early in a surge (the line is seconds old, a few admitted so far): the configured capacity, not the thin count', () => {
    // 30 admitted in the last minute is not a rate yet: the measured-only estimate is 20x too long.
    expect(estimateWaitSeconds(100, 30)).toBe(200);
    expect(roomEtaSeconds(100, { capacity, active: 1000, admittedPerMinute: 30, oldestTicketAgeSeconds: 5 })).toBe(12);
  });

  it('once the line is a minute old the measured rate corrects it both ways; faster turnover counts at once', () => {
    const slow = roomEtaSeconds(1000, { capacity, active: 1000, admittedPerMinute: 300, oldestTicketAgeSeconds: 90 }) as number;
    expect(slow).toBeGreaterThan(120);
    expect(roomEtaSeconds(1000, { capacity, active: 1000, admittedPerMinute: 600, oldestTicketAgeSeconds: 5 })).toBeLessThan(120);
  });

  it('reacts to a capacity change at once, and to an unhealthy origin slowing admission', () => {
    const input = { capacity, active: 1000, admittedPerMinute: 500, oldestTicketAgeSeconds: 120 };
    const before = roomEtaSeconds(500, input) as number;
    expect(roomEtaSeconds(500, { ...input, capacity: { ...capacity, totalActiveUsers: 4000, newUsersPerMinute: 2400 } })).toBeLessThan(
      before / 2,
    );
    expect(roomEtaSeconds(500, { ...input, active: 0, admissionFactor: 0.5 })).toBe(100);
  });

  it('falls back to the measured rate when the snapshot carries no capacity', () => {
    expect(roomEtaSeconds(115, { active: 0, admittedPerMinute: 60, oldestTicketAgeSeconds: 0 })).toBe(115);
    expect(roomEtaSeconds(10, { active: 0, admittedPerMinute: 0, oldestTicketAgeSeconds: 0 })).toBeNull();
    expect(roomEtaSeconds(0, { active: 0, admittedPerMinute: 0, oldestTicketAgeSeconds: 0 })).toBe(0);
  });

  it('computes the pressure against the wait budget', () => {
    expect(roomPressure(0, 0, 60)).toBe(0);
    expect(roomPressure(120, 120, 60)).toBe(2);
    expect(roomPressure(30, 30, 60)).toBe(0.5);
    expect(roomPressure(10, null, 60)).toBeNull();
  });
});
