/** Forecast scenarios with fixed inputs: a burst, a slow drip, and a budget no plan can meet. */
import { DEFAULT_OPEN_MODEL } from './open-model';
import { forecastPaced, forecastSurge, plannedSends, recommendPlan } from './forecast';

const room = { totalActiveUsers: 1000, newUsersPerMinute: 600, sessionSeconds: 120 };

describe('forecast', () => {
  it('times waves and batches: each wave at its interval, never before the previous one has left, batches at the send rate', () => {
    const { waves, sends } = plannedSends({ audience: 2500, waveSize: 1000, intervalSeconds: 5, batchSize: 500, sendPerSecond: 100 });
    expect(waves).toEqual([
      { wave: 1, startsAtSeconds: 0, endsAtSeconds: 10, size: 1000 },
      { wave: 2, startsAtSeconds: 10, endsAtSeconds: 20, size: 1000 },
      { wave: 3, startsAtSeconds: 20, endsAtSeconds: 25, size: 500 },
    ]);
    expect(sends.map((s) => s.atSeconds)).toEqual([0, 5, 10, 15, 20]);
  });

  it('a burst: 100,000 at once through a room of 1,000 places breaks a 10-minute budget, and says by how much', () => {
    const f = forecastSurge({
      plan: { audience: 100_000, waveSize: 100_000, intervalSeconds: 0, batchSize: 500, sendPerSecond: 10_000 },
      openModel: DEFAULT_OPEN_MODEL,
      capacity: room,
      budgetSeconds: 600,
    });
    expect(f.visitors).toBe(10_000);
    expect(f.withinBudget).toBe(false);
    expect(f.waitMaxSeconds).toBeGreaterThan(900);
    expect(f.peakQueue).toBeGreaterThan(7000);
    expect(f.peakActive).toBe(1000);
    // The curve is per minute and accounts for every visitor.
    expect(f.curve[1]!.atSeconds).toBe(60);
    expect(f.curve.reduce((a, c) => a + c.arrivalsPerMinute, 0)).toBeCloseTo(10_000, -1);
    expect(f.curve.reduce((a, c) => a + c.admittedPerMinute, 0)).toBeCloseTo(10_000, -1);
  });

  it('recommends the plan that keeps the burst within budget and finishes earliest', () => {
    const r = recommendPlan({
      plan: { audience: 100_000, waveSize: 100_000, intervalSeconds: 0, batchSize: 500, sendPerSecond: 10_000 },
      openModel: DEFAULT_OPEN_MODEL,
      capacity: room,
      budgetSeconds: 600,
    });
    expect(r.feasible).toBe(true);
    expect(r.forecast.withinBudget).toBe(true);
    expect(r.forecast.waitMaxSeconds).toBeLessThanOrEqual(600);
    expect(r.waveSize).toBeLessThan(100_000);
    // Sending the lot takes at least the time the room needs for its visitors (10,000 at 8.3 a second, less a budget).
    expect(r.forecast.sendingEndsAtSeconds).toBeGreaterThan(10_000 / (1000 / 120) - 600 - 60);
    expect(r.reason).toMatch(/^waves of \d+ every \d+ s keep the predicted max wait at \d+ s/);
  });

  it('the same burst as the pacing controller would shape it: within the budget, the line a fraction as long', () => {
    const input = {
      plan: { audience: 100_000, waveSize: 20_000, intervalSeconds: 0, batchSize: 100, sendPerSecond: 1000 },
      openModel: { openRate: 0.15, medianDelaySeconds: 5, sigma: 0.8 },
      capacity: { totalActiveUsers: 500, newUsersPerMinute: 6000, sessionSeconds: 10 },
      budgetSeconds: 60,
    };
    const planned = forecastSurge(input);
    const paced = forecastPaced(input);
    expect(planned.waitMaxSeconds).toBeGreaterThan(120);
    expect(paced.withinBudget).toBe(true);
    expect(paced.waitMaxSeconds).toBeLessThanOrEqual(60);
    expect(paced.peakQueue).toBeLessThan(planned.peakQueue / 2);
    expect(paced.peakActive).toBeLessThanOrEqual(500);
    // Slower to send (the room sets the pace: 50 people a second at most), every recipient sent, the line drained.
    expect(paced.sendingEndsAtSeconds).toBeGreaterThan(planned.sendingEndsAtSeconds);
    expect(paced.waves.reduce((a, w) => a + w.size, 0)).toBe(100_000);
    expect(paced.drainedAtSeconds).not.toBeNull();
  });

  it('a slow drip: small waves a minute apart cause no line at all', () => {
    const f = forecastSurge({
      plan: { audience: 10_000, waveSize: 500, intervalSeconds: 60, batchSize: 500, sendPerSecond: 1000 },
      openModel: DEFAULT_OPEN_MODEL,
      capacity: room,
      budgetSeconds: 600,
    });
    expect(f.peakQueue).toBe(0);
    expect(f.waitMaxSeconds).toBe(0);
    expect(f.withinBudget).toBe(true);
    expect(f.waves).toHaveLength(20);
  });

  it('a budget no plan can meet: even one batch brings more people than the room admits within it', () => {
    const r = recommendPlan({
      plan: { audience: 50_000, waveSize: 5000, intervalSeconds: 60, batchSize: 500, sendPerSecond: 1000 },
      openModel: { openRate: 1, medianDelaySeconds: 5, sigma: 0.5 },
      capacity: { totalActiveUsers: 1000, newUsersPerMinute: 60, sessionSeconds: 60 },
      budgetSeconds: 60,
    });
    expect(r.feasible).toBe(false);
    expect(r.reason).toMatch(/^no plan keeps the max wait within 60 s: the room admits at most 60 people a minute/);
    expect(r.forecast.waitMaxSeconds).toBeGreaterThan(60);
  });
});
