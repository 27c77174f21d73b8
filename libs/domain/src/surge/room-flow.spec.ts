import fc from 'fast-check';
import { fifoWaits, simulateRoom, steadyAdmitsPerSecond, type RoomCapacity } from './room-flow';

const room: RoomCapacity = { totalActiveUsers: 100, newUsersPerMinute: 600, sessionSeconds: 50 };

describe('the fluid waiting room', () => {
  it('admits an arrival at once while places are free and the rate allows (no wait)', () => {
    const flow = simulateRoom({ stepSeconds: 1, capacity: room, start: { waiting: 0, active: 0 }, arrivals: [5, 5, 5], maxSteps: 100 });
    expect(flow.queue.every((q) => q === 0)).toBe(true);
    expect(flow.waits).toMatchObject({ max: 0, p50: 0, people: 15 });
    expect(flow.drained).toBe(true);
  });

  it('queues what the rate cannot take and drains it in order: 100 at once at 10/s wait up to 9 s', () => {
    const flow = simulateRoom({ stepSeconds: 1, capacity: room, start: { waiting: 0, active: 0 }, arrivals: [100], maxSteps: 100 });
    expect(flow.peakQueue).toBe(90);
    expect(flow.waits.max).toBe(9);
    expect(flow.waits.p50).toBeGreaterThanOrEqual(4);
    expect(flow.waits.p50).toBeLessThanOrEqual(5);
  });

  it('once full, lets people in only as places free up: places / session', () => {
    expect(steadyAdmitsPerSecond(room)).toBe(2);
    const flow = simulateRoom({ stepSeconds: 1, capacity: room, start: { waiting: 0, active: 100 }, arrivals: [20], maxSteps: 200 });
    // 100 places held, leaving evenly over the next 50 s: 2 a second; 20 newcomers wait up to 10 s.
    expect(flow.waits.max).toBe(10);
  });

  it('counts those already waiting: their remaining wait', () => {
    expect(fifoWaits(30, [0, 0, 0], [10, 10, 10], 1)).toMatchObject({ max: 2, people: 30 });
  });

  it('conserves people, never goes over capacity, and keeps FIFO waits non-negative (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(300), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 6, max: 6000 }),
        fc.integer({ min: 1, max: 300 }),
        (arrivals, places, perMinute, session) => {
          const capacity = { totalActiveUsers: places, newUsersPerMinute: perMinute, sessionSeconds: session };
          const arrived = arrivals.reduce((a, b) => a + b, 0);
          // Enough steps to let everyone in at the slowest the room goes (a place per session once full).
          const maxSteps = arrivals.length + session + Math.ceil(arrived / steadyAdmitsPerSecond(capacity)) + 10;
          const flow = simulateRoom({ stepSeconds: 1, capacity, start: { waiting: 0, active: 0 }, arrivals, maxSteps });
          const admitted = flow.admitted.reduce((a, b) => a + b, 0);
          expect(flow.drained).toBe(true);
          expect(Math.abs(admitted - arrived)).toBeLessThan(1e-6 * Math.max(1, arrived));
          expect(flow.active.reduce((a, b) => Math.max(a, b), 0)).toBeLessThanOrEqual(places + 1e-6);
          expect(flow.waits.max).toBeGreaterThanOrEqual(0);
          expect(flow.waits.p95).toBeLessThanOrEqual(flow.waits.max);
        },
      ),
      { numRuns: 200 },
    );
  });
});
