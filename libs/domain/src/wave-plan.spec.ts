import fc from 'fast-check';
import { type SendWindow, isInsideWindow } from './send-window';
import { formatTimeOfDay } from './time-of-day';
import { type WavePlan, type WavePlanInput, batchSizes, effectiveRate, planWaves, validateWavePlan } from './wave-plan';

const at = (iso: string): Date => new Date(iso);
const now = at('2026-06-15T12:00:00Z');

function plan(input: WavePlanInput, clock: Date = now): WavePlan {
  const result = planWaves(input, { now: clock });
  if (!result.ok) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
  return result.plan;
}

/** The plan's waves as [startsAt, endsAt, size, startReason], ISO strings in UTC. */
const timeline = (p: WavePlan): [string, string, number, string][] =>
  p.waves.map((w) => [w.startsAt.toISOString(), w.endsAt.toISOString(), w.size, w.startReason]);

const iso = (s: string): string => at(s).toISOString();

describe('wave plan without a window', () => {
  it('sends 20,000 in waves of 5,000 every 2 s, 10 batches each, when nothing limits the rate', () => {
    const p = plan({ audienceSize: 20_000, batchSize: 500, waveSize: 5_000, intervalSeconds: 2 });
    expect(timeline(p)).toEqual([
      [iso('2026-06-15T12:00:00Z'), iso('2026-06-15T12:00:00Z'), 5_000, 'scheduled'],
      [iso('2026-06-15T12:00:02Z'), iso('2026-06-15T12:00:02Z'), 5_000, 'interval'],
      [iso('2026-06-15T12:00:04Z'), iso('2026-06-15T12:00:04Z'), 5_000, 'interval'],
      [iso('2026-06-15T12:00:06Z'), iso('2026-06-15T12:00:06Z'), 5_000, 'interval'],
    ]);
    expect(p.waves.map((w) => w.batches)).toEqual([10, 10, 10, 10]);
    expect(p).toMatchObject({
      waveCount: 4,
      batchCount: 40,
      ratePerMinute: null,
      rateLimitedBy: null,
      finishesAt: at('2026-06-15T12:00:06Z'),
    });
  });

  it('makes the last wave and the last batch of a wave short', () => {
    const p = plan({ audienceSize: 12_345, batchSize: 500, waveSize: 5_000, intervalSeconds: 60 });
    expect(p.waves.map((w) => [w.size, w.batches])).toEqual([
      [5_000, 10],
      [5_000, 10],
      [2_345, 5],
    ]);
    expect(batchSizes(2_345, 500)).toEqual([500, 500, 500, 500, 345]);
    expect(plan({ audienceSize: 2_400, batchSize: 500, waveSize: 1_200, intervalSeconds: 0 }).waves.map((w) => w.batches)).toEqual([3, 3]);
    expect(batchSizes(1_200, 500)).toEqual([500, 500, 200]);
  });

  it('is paced by the rate, not the interval, when a wave takes longer than the interval', () => {
    // 100,000 at 50,000/min (the campaign's limit, below FCM's 600,000) takes 2 minutes: more than the 60 s interval.
    const p = plan({
      audienceSize: 300_000,
      batchSize: 500,
      waveSize: 100_000,
      intervalSeconds: 60,
      rateLimits: { campaignPerMinute: 50_000, providerPerMinute: { fcm: 600_000 } },
    });
    expect(timeline(p)).toEqual([
      [iso('2026-06-15T12:00:00Z'), iso('2026-06-15T12:02:00Z'), 100_000, 'scheduled'],
      [iso('2026-06-15T12:02:00Z'), iso('2026-06-15T12:04:00Z'), 100_000, 'previous_wave'],
      [iso('2026-06-15T12:04:00Z'), iso('2026-06-15T12:06:00Z'), 100_000, 'previous_wave'],
    ]);
    expect(p).toMatchObject({ ratePerMinute: 50_000, rateLimitedBy: 'campaign', finishesAt: at('2026-06-15T12:06:00Z') });
  });

  it('is paced by the interval when waves finish sooner (FCM 600,000/min: 10 s per wave)', () => {
    const p = plan({
      audienceSize: 300_000,
      batchSize: 500,
      waveSize: 100_000,
      intervalSeconds: 60,
      rateLimits: { providerPerMinute: { fcm: 600_000 } },
    });
    expect(timeline(p)).toEqual([
      [iso('2026-06-15T12:00:00Z'), iso('2026-06-15T12:00:10Z'), 100_000, 'scheduled'],
      [iso('2026-06-15T12:01:00Z'), iso('2026-06-15T12:01:10Z'), 100_000, 'interval'],
      [iso('2026-06-15T12:02:00Z'), iso('2026-06-15T12:02:10Z'), 100_000, 'interval'],
    ]);
    expect(p.rateLimitedBy).toBe('provider:fcm');
  });

  it('starts at startAt when given, and returns an empty plan for an empty audience', () => {
    const later = plan({ audienceSize: 1, batchSize: 1, waveSize: 1, intervalSeconds: 0, startAt: '2026-06-20T09:00:00+02:00' });
    expect(later.waves[0]?.startsAt).toEqual(at('2026-06-20T07:00:00Z'));
    const empty = plan({ audienceSize: 0, batchSize: 500, waveSize: 500, intervalSeconds: 0 });
    expect(empty).toMatchObject({ waveCount: 0, batchCount: 0, finishesAt: null, waves: [] });
  });
});

describe('effective rate', () => {
  const limits = { globalPerMinute: 1_000_000, campaignPerMinute: 800_000, providerPerMinute: { fcm: 600_000, apns: 100_000 } };

  it('is the minimum of the limits that apply', () => {
    expect(effectiveRate(limits)).toEqual({ perMinute: 100_000, limitedBy: 'provider:apns' });
    expect(effectiveRate({ globalPerMinute: 1_000, campaignPerMinute: 5_000 })).toEqual({ perMinute: 1_000, limitedBy: 'global' });
    expect(effectiveRate({})).toEqual({ perMinute: Infinity, limitedBy: null });
    expect(effectiveRate(null)).toEqual({ perMinute: Infinity, limitedBy: null });
  });

  it('applies a provider quota to its share of the audience when the mix is known', () => {
    // 10% APNs at 100,000/min allows 1,000,000/min overall; 90% FCM at 600,000/min allows 666,667/min.
    expect(effectiveRate(limits, { fcm: 900, apns: 100 }).limitedBy).toBe('provider:fcm');
    expect(effectiveRate(limits, { fcm: 900, apns: 100 }).perMinute).toBeCloseTo(666_666.67, 1);
    // An audience with no APNs devices is not limited by APNs.
    expect(effectiveRate(limits, { fcm: 1 })).toEqual({ perMinute: 600_000, limitedBy: 'provider:fcm' });
  });
});

describe('wave plan with an idle-hour window', () => {
  const paris: SendWindow = { start: '01:00', end: '06:00', timezone: 'Europe/Paris' };

  it('waits for the night, stops at 06:00 in the middle of a wave, and resumes the next night', () => {
    // 1,000,000 in waves of 90,000 at 2,000/min: 45 minutes a wave, six and a half waves a night.
    const p = plan(
      {
        audienceSize: 1_000_000,
        batchSize: 500,
        waveSize: 90_000,
        intervalSeconds: 1_800,
        rateLimits: { campaignPerMinute: 2_000 },
        sendWindow: paris,
        startAt: '2026-06-15T12:00:00+02:00',
      },
      at('2026-06-15T12:00:00+02:00'),
    );
    expect(timeline(p)).toEqual([
      [iso('2026-06-16T01:00:00+02:00'), iso('2026-06-16T01:45:00+02:00'), 90_000, 'window'],
      [iso('2026-06-16T01:45:00+02:00'), iso('2026-06-16T02:30:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-16T02:30:00+02:00'), iso('2026-06-16T03:15:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-16T03:15:00+02:00'), iso('2026-06-16T04:00:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-16T04:00:00+02:00'), iso('2026-06-16T04:45:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-16T04:45:00+02:00'), iso('2026-06-16T05:30:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-16T05:30:00+02:00'), iso('2026-06-17T01:15:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-17T01:15:00+02:00'), iso('2026-06-17T02:00:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-17T02:00:00+02:00'), iso('2026-06-17T02:45:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-17T02:45:00+02:00'), iso('2026-06-17T03:30:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-17T03:30:00+02:00'), iso('2026-06-17T04:15:00+02:00'), 90_000, 'previous_wave'],
      [iso('2026-06-17T04:15:00+02:00'), iso('2026-06-17T04:20:00+02:00'), 10_000, 'previous_wave'],
    ]);
    expect(p.waves[6]?.segments).toEqual([
      { from: at('2026-06-16T05:30:00+02:00'), to: at('2026-06-16T06:00:00+02:00'), messages: 60_000 },
      { from: at('2026-06-17T01:00:00+02:00'), to: at('2026-06-17T01:15:00+02:00'), messages: 30_000 },
    ]);
    expect(p).toMatchObject({ waveCount: 12, batchCount: 11 * 180 + 20, finishesAt: at('2026-06-17T04:20:00+02:00') });
  });

  it('fits 4 hours of waves into the Paris spring-forward night (2026-03-29) and moves the rest to the next night', () => {
    const p = plan(
      {
        audienceSize: 300_000,
        batchSize: 500,
        waveSize: 60_000,
        intervalSeconds: 0,
        rateLimits: { globalPerMinute: 1_000 },
        sendWindow: paris,
        startAt: '2026-03-28T12:00:00+01:00',
      },
      at('2026-03-28T12:00:00+01:00'),
    );
    expect(p.waves.map((w) => [w.startsAt.toISOString(), w.startReason])).toEqual([
      [iso('2026-03-29T01:00:00+01:00'), 'window'],
      [iso('2026-03-29T03:00:00+02:00'), 'previous_wave'],
      [iso('2026-03-29T04:00:00+02:00'), 'previous_wave'],
      [iso('2026-03-29T05:00:00+02:00'), 'previous_wave'],
      [iso('2026-03-30T01:00:00+02:00'), 'window'],
    ]);
    expect(p.finishesAt).toEqual(at('2026-03-30T02:00:00+02:00'));
  });

  it('fits 6 hours of waves into the New York fall-back night (2026-11-01)', () => {
    const p = plan(
      {
        audienceSize: 360_000,
        batchSize: 500,
        waveSize: 60_000,
        intervalSeconds: 3_600,
        rateLimits: { globalPerMinute: 1_000 },
        sendWindow: { start: '01:00', end: '06:00', timezone: 'America/New_York' },
        startAt: '2026-10-31T12:00:00-04:00',
      },
      at('2026-10-31T12:00:00-04:00'),
    );
    expect(p.waves.map((w) => w.startsAt.toISOString())).toEqual([
      iso('2026-11-01T01:00:00-04:00'),
      iso('2026-11-01T01:00:00-05:00'),
      iso('2026-11-01T02:00:00-05:00'),
      iso('2026-11-01T03:00:00-05:00'),
      iso('2026-11-01T04:00:00-05:00'),
      iso('2026-11-01T05:00:00-05:00'),
    ]);
    expect(p.finishesAt).toEqual(at('2026-11-01T06:00:00-05:00'));
    expect(p.waves.every((w) => w.segments.length === 1)).toBe(true);
  });

  it('starts at once when the start is inside the window (Kolkata)', () => {
    const p = plan(
      {
        audienceSize: 1_000,
        batchSize: 100,
        waveSize: 500,
        intervalSeconds: 600,
        sendWindow: { start: '01:00', end: '06:00', timezone: 'Asia/Kolkata' },
        startAt: '2026-06-16T02:00:00+05:30',
      },
      at('2026-06-16T02:00:00+05:30'),
    );
    expect(timeline(p).map(([start, , , reason]) => [start, reason])).toEqual([
      [iso('2026-06-16T02:00:00+05:30'), 'scheduled'],
      [iso('2026-06-16T02:10:00+05:30'), 'interval'],
    ]);
  });
});

describe('wave plan bounds', () => {
  it('refuses a plan of more than 100,000 waves before computing it', () => {
    const result = planWaves({ audienceSize: 10_000_000, batchSize: 10, waveSize: 10, intervalSeconds: 0 }, { now });
    expect(result).toEqual({ ok: false, errors: [expect.objectContaining({ field: 'waveSize', code: 'too_many_waves' })] });
  });

  it('refuses a plan that would last more than a year', () => {
    const slow = planWaves(
      { audienceSize: 1_000_000, batchSize: 500, waveSize: 1_000, intervalSeconds: 0, rateLimits: { campaignPerMinute: 1 } },
      { now },
    );
    expect(slow).toEqual({ ok: false, errors: [expect.objectContaining({ field: 'plan', code: 'plan_too_long' })] });
    const narrow = planWaves(
      {
        audienceSize: 1_000_000,
        batchSize: 500,
        waveSize: 1_000,
        intervalSeconds: 0,
        rateLimits: { campaignPerMinute: 10 },
        sendWindow: { start: '01:00', end: '02:00', timezone: 'Europe/Paris' },
      },
      { now },
    );
    expect(narrow).toEqual({ ok: false, errors: [expect.objectContaining({ field: 'plan', code: 'plan_too_long' })] });
  });

  it('computes the largest allowed plan (100,000 waves over most of a year of nights)', () => {
    const p = plan({
      audienceSize: 100_000_000,
      batchSize: 500,
      waveSize: 1_000,
      intervalSeconds: 60,
      sendWindow: { start: '01:00', end: '06:00', timezone: 'Europe/Paris' },
    });
    expect(p.waveCount).toBe(100_000);
    expect(p.finishesAt!.getTime()).toBeLessThan(now.getTime() + 366 * 86_400_000);
  });
});

describe('wave plan validation', () => {
  const valid: WavePlanInput = { audienceSize: 1_000, batchSize: 500, waveSize: 500, intervalSeconds: 2 };
  const errorsOf = (input: unknown): [string, string][] => validateWavePlan(input, { now }).map((e) => [e.field, e.code]);

  it('accepts a valid input', () => {
    expect(errorsOf(valid)).toEqual([]);
    expect(errorsOf({ ...valid, startAt: '2026-06-15T11:57:00Z' })).toEqual([]); // within the 5-minute tolerance
  });

  it('names each missing field', () => {
    expect(errorsOf({})).toEqual([
      ['audienceSize', 'required'],
      ['batchSize', 'required'],
      ['waveSize', 'required'],
      ['intervalSeconds', 'required'],
    ]);
    expect(errorsOf('plan')).toEqual([['body', 'invalid_type']]);
  });

  it('names every bad field of a bad body at once', () => {
    expect(
      errorsOf({
        audienceSize: -1,
        batchSize: 0,
        waveSize: 0,
        intervalSeconds: -5,
        rateLimits: { globalPerMinute: 0, campaignPerMinute: -10, providerPerMinute: { fcm: -1, fcn: 10 } },
        sendWindow: { start: '06:00', end: '01:00', timezone: 'Europe/Paris' },
        startAt: '2026-06-15T11:00:00Z',
      }),
    ).toEqual([
      ['audienceSize', 'out_of_range'],
      ['batchSize', 'out_of_range'],
      ['waveSize', 'out_of_range'],
      ['intervalSeconds', 'out_of_range'],
      ['rateLimits.globalPerMinute', 'out_of_range'],
      ['rateLimits.campaignPerMinute', 'out_of_range'],
      ['rateLimits.providerPerMinute.fcm', 'out_of_range'],
      ['rateLimits.providerPerMinute.fcn', 'unknown_platform'],
      ['sendWindow.end', 'window_end_not_after_start'],
      ['startAt', 'in_the_past'],
    ]);
  });

  it('refuses rates below one message a minute (they would book the limiter years ahead)', () => {
    expect(errorsOf({ ...valid, rateLimits: { campaignPerMinute: 1e-300 } })).toEqual([['rateLimits.campaignPerMinute', 'out_of_range']]);
    expect(errorsOf({ ...valid, rateLimits: { campaignPerMinute: 0.5 } })).toEqual([['rateLimits.campaignPerMinute', 'out_of_range']]);
    expect(errorsOf({ ...valid, rateLimits: { campaignPerMinute: 1 } })).toEqual([]);
  });

  it('checks the batch size (1 to 500, whole) and the wave size against it', () => {
    expect(errorsOf({ ...valid, batchSize: 501 })).toEqual([['batchSize', 'out_of_range']]);
    expect(errorsOf({ ...valid, batchSize: 1.5 })).toEqual([['batchSize', 'not_an_integer']]);
    expect(errorsOf({ ...valid, batchSize: '500' })).toEqual([['batchSize', 'invalid_type']]);
    expect(errorsOf({ ...valid, waveSize: 400 })).toEqual([['waveSize', 'less_than_batch_size']]);
  });

  it('checks the window, the start time and the platform mix', () => {
    expect(errorsOf({ ...valid, sendWindow: { start: '1:00', end: '06:00', timezone: 'Mars/Olympus_Mons' } })).toEqual([
      ['sendWindow.start', 'invalid_time'],
      ['sendWindow.timezone', 'unknown_time_zone'],
    ]);
    expect(errorsOf({ ...valid, startAt: '2026-06-16T12:00' })).toEqual([['startAt', 'invalid_date']]);
    expect(errorsOf({ ...valid, startAt: 'tomorrow' })).toEqual([['startAt', 'invalid_date']]);
    expect(errorsOf({ ...valid, platformMix: { fcm: -1 } })).toEqual([['platformMix.fcm', 'out_of_range']]);
    expect(errorsOf({ ...valid, platformMix: { fcm: 0 } })).toEqual([['platformMix', 'out_of_range']]);
    expect(errorsOf({ ...valid, rateLimits: { globalPerMinute: null, providerPerMinute: { fcm: null } } })).toEqual([]);
  });

  it('makes planWaves return the errors instead of a plan', () => {
    expect(planWaves({ ...valid, batchSize: 0 }, { now })).toEqual({
      ok: false,
      errors: [{ field: 'batchSize', code: 'out_of_range', message: 'must be between 1 and 500' }],
    });
  });
});

describe('wave plan properties', () => {
  const zones = ['Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'];
  const windows = fc.option(
    fc
      .tuple(fc.integer({ min: 0, max: 1380 }), fc.integer({ min: 60, max: 1380 }), fc.constantFrom(...zones))
      .filter(([start, length]) => start + length <= 1440)
      .map(([start, length, timezone]): SendWindow => ({ start: formatTimeOfDay(start), end: formatTimeOfDay(start + length), timezone })),
    { nil: undefined },
  );
  const inputs = fc.record({
    audienceSize: fc.integer({ min: 0, max: 200_000 }),
    batchSize: fc.integer({ min: 1, max: 500 }),
    extraWave: fc.integer({ min: 0, max: 50_000 }),
    intervalSeconds: fc.integer({ min: 0, max: 7_200 }),
    rate: fc.option(fc.integer({ min: 1_000, max: 1_000_000 }), { nil: undefined }),
    sendWindow: windows,
    startAt: fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }),
  });

  it('covers the audience exactly, paces waves, and never sends outside the window', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const start = new Date(i.startAt);
        const waveSize = Math.max(i.batchSize, 1_000) + i.extraWave;
        const p = plan(
          {
            audienceSize: i.audienceSize,
            batchSize: i.batchSize,
            waveSize,
            intervalSeconds: i.intervalSeconds,
            rateLimits: { campaignPerMinute: i.rate ?? null },
            sendWindow: i.sendWindow,
            startAt: start,
          },
          start,
        );
        expect(p.waves.reduce((sum, w) => sum + w.size, 0)).toBe(i.audienceSize);
        expect(p.waves.reduce((sum, w) => sum + w.batches, 0)).toBe(p.batchCount);
        let previousStart = -Infinity;
        for (const w of p.waves) {
          expect(w.batches).toBe(Math.ceil(w.size / i.batchSize));
          expect(w.segments.reduce((sum, s) => sum + s.messages, 0)).toBe(w.size);
          expect(w.startsAt.getTime()).toBeGreaterThanOrEqual(Math.max(start.getTime(), previousStart + i.intervalSeconds * 1000));
          previousStart = w.startsAt.getTime();
          if (i.sendWindow !== undefined) {
            expect(isInsideWindow(i.sendWindow, w.startsAt)).toBe(true);
            for (const s of w.segments) {
              expect(isInsideWindow(i.sendWindow, s.from)).toBe(true);
              if (s.to > s.from) expect(isInsideWindow(i.sendWindow, new Date(s.to.getTime() - 1))).toBe(true);
            }
          }
        }
        expect(p.finishesAt).toEqual(p.waves.at(-1)?.endsAt ?? null);
      }),
      { numRuns: 60 },
    );
  });
});
