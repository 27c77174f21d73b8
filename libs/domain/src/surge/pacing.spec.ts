/**
 * Pacing controller scenarios with fixed inputs: an empty room, a burst in flight, a room that shrinks mid-campaign,
 * an origin that goes unhealthy and recovers, hysteresis, and the promise never to send into a predicted breach.
 */
import fc from 'fast-check';
import { expectedArrivals } from './arrivals';
import { DEFAULT_OPEN_MODEL } from './open-model';
import { DEFAULT_PACING, decidePacing, nextWaveSize, type PacingInput } from './pacing';
import { simulateRoom } from './room-flow';

const room = { totalActiveUsers: 1000, newUsersPerMinute: 600, sessionSeconds: 120 };
const base: PacingInput = {
  room: { waiting: 0, active: 0, capacity: room, healthy: true },
  sent: [],
  openModel: DEFAULT_OPEN_MODEL,
  budgetSeconds: 600,
  maxSendPerSecond: 1000,
  remaining: 100_000,
  previous: null,
};

/** The max wait the room would see if the campaign sent at `rate` for the lookahead (the controller's own model). */
function maxWaitAt(input: PacingInput, rate: number): number {
  const sends = [...input.sent];
  let left = input.remaining;
  for (let t = 0; t < DEFAULT_PACING.lookaheadSeconds && left > 0; t++) {
    sends.push({ atSeconds: t, count: Math.min(rate, left) });
    left -= Math.min(rate, left);
  }
  const steps = 10 + 700 + 1200;
  return simulateRoom({
    stepSeconds: 1,
    capacity: input.room.capacity,
    start: { waiting: input.room.waiting, active: input.room.active },
    arrivals: expectedArrivals(sends, input.openModel, 1, steps),
    maxSteps: steps,
  }).waits.max;
}

describe('pacing controller', () => {
  it('an empty room and nothing in flight: full speed', () => {
    const d = decidePacing(base);
    expect(d).toMatchObject({ state: 'sending', reason: 'clear', sendPerSecond: 1000 });
    expect(d.figures.predictedMaxWaitSeconds).toBeLessThanOrEqual(540);
  });

  it('a burst in flight: slows down rather than send into a breach, and says why with the figures', () => {
    const d = decidePacing({ ...base, sent: [{ atSeconds: -15, count: 70_000 }], room: { ...base.room, waiting: 500, active: 1000 } });
    expect(d.state).toBe('paced');
    expect(d.sendPerSecond).toBeLessThan(1000);
    expect(d.sendPerSecond).toBeGreaterThan(0);
    expect(d.message).toMatch(/^paced to .* at full speed the predicted max wait would be \d+ s, above 540 s/);
    expect(d.figures.pendingTaps).toBeGreaterThan(2000);
  });

  it('holds when what was already sent breaks the budget anyway, and sends nothing more', () => {
    const d = decidePacing({ ...base, sent: [{ atSeconds: -10, count: 100_000 }], room: { ...base.room, waiting: 3000, active: 1000 } });
    expect(d).toMatchObject({ state: 'held', reason: 'budget', sendPerSecond: 0 });
    expect(d.message).toMatch(/^held: 3000 waiting and \d+ taps still to come/);
  });

  it('a room that shrinks mid-campaign: the same live state that allowed full speed is paced once capacity halves', () => {
    const live = { ...base, sent: [{ atSeconds: -30, count: 45_000 }], room: { ...base.room, waiting: 0, active: 600 } };
    const before = decidePacing(live);
    const after = decidePacing({
      ...live,
      room: { ...live.room, capacity: { totalActiveUsers: 500, newUsersPerMinute: 300, sessionSeconds: 120 } },
    });
    expect(before.sendPerSecond).toBeGreaterThan(after.sendPerSecond);
    expect(after.state).not.toBe('sending');
  });

  it('a campaign with no rate limit in a small room is paced down to what the room takes, never held with nobody waiting', () => {
    const d = decidePacing({
      ...base,
      room: { waiting: 0, active: 0, healthy: true, capacity: { totalActiveUsers: 50, newUsersPerMinute: 6000, sessionSeconds: 10 } },
      openModel: { openRate: 0.3, medianDelaySeconds: 5, sigma: 0.8 },
      budgetSeconds: 30,
      maxSendPerSecond: 20_000,
      remaining: 2000,
    });
    expect(d.state).toBe('paced');
    expect(d.sendPerSecond).toBeGreaterThanOrEqual(1);
    expect(d.figures.predictedMaxWaitSeconds).toBeLessThanOrEqual(27);
  });

  it('an origin that goes unhealthy holds the campaign, and it sends again when the origin recovers', () => {
    const sick = decidePacing({ ...base, room: { ...base.room, healthy: false } });
    expect(sick).toMatchObject({ state: 'held', reason: 'origin_unhealthy', sendPerSecond: 0 });
    expect(sick.message).toMatch(/origin is unhealthy/);
    const recovered = decidePacing({ ...base, previous: sick });
    expect(recovered).toMatchObject({ state: 'sending', sendPerSecond: 1000 });
  });

  it('hysteresis: once held, it waits until the prediction is well inside the budget (no flapping at the edge)', () => {
    // A state whose full-speed prediction is just inside the limit: sends when it was sending, stays held when held.
    const edge = (waiting: number) => ({ ...base, maxSendPerSecond: 50, room: { ...base.room, waiting, active: 1000 } });
    let waiting = 0;
    while (decidePacing(edge(waiting + 250)).state === 'sending') waiting += 250;
    const atEdge = edge(waiting);
    expect(decidePacing(atEdge).state).toBe('sending');
    const held = decidePacing({ ...atEdge, previous: { ...decidePacing(atEdge), state: 'held' } });
    expect(held.state).not.toBe('sending');
  });

  it('never sends at a rate whose predicted max wait passes budget × (1 − margin) (property)', () => {
    fc.assert(
      fc.property(
        fc.nat(5000),
        fc.integer({ min: 0, max: 1000 }),
        fc.nat(50_000),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 2000 }),
        (waiting, active, sent, ago, maxRate) => {
          const input: PacingInput = {
            ...base,
            maxSendPerSecond: maxRate,
            sent: [{ atSeconds: -ago, count: sent }],
            room: { ...base.room, waiting, active },
          };
          const d = decidePacing(input);
          if (d.sendPerSecond > 0) expect(maxWaitAt(input, d.sendPerSecond)).toBeLessThanOrEqual(600 * 0.9 + 1e-6);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('shrinks the next wave after a hold and grows it after a wave at full speed', () => {
    expect(nextWaveSize(10_000, 10_000, 500, { held: true, paced: true })).toBe(5000);
    expect(nextWaveSize(5000, 10_000, 500, { held: false, paced: false })).toBe(7500);
    expect(nextWaveSize(15_000, 10_000, 500, { held: false, paced: false })).toBe(20_000);
    expect(nextWaveSize(5000, 10_000, 500, { held: false, paced: true })).toBe(5000);
    expect(nextWaveSize(600, 10_000, 500, { held: true, paced: true })).toBe(500);
    expect(nextWaveSize(600, 10_000, 500, null)).toBe(10_000);
  });
});
