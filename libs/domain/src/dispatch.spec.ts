import fc from 'fast-check';
import {
  type ProviderResult,
  type RetryPolicy,
  batchJobId,
  campaignLimits,
  chunk,
  heldJobId,
  heldRelease,
  nextWaveDue,
  planJobId,
  planResults,
  planningLimits,
  retryJobId,
  judgeGuards,
  windowDelay,
} from './dispatch';
import { type QuietHours, isQuiet } from './quiet-hours';
import { type SendWindow, isInsideWindow } from './send-window';

const at = (iso: string): Date => new Date(iso);
const CAMPAIGN = '0b4f1c9e-5a7d-4e2b-9c1f-3d8a6e2b7f10';
const parisNight: SendWindow = { start: '01:00', end: '06:00', timezone: 'Europe/Paris' };
const night: QuietHours = { start: '22:00', end: '08:00' };

describe('dispatch job ids', () => {
  const until = at('2026-03-29T06:00:00Z');

  it('are deterministic: the same wave, batch and variant always give the same id', () => {
    expect(planJobId(CAMPAIGN, 3)).toBe(`${CAMPAIGN}.p3`);
    expect(batchJobId(CAMPAIGN, 2, 7)).toBe(`${CAMPAIGN}.w2.b7`);
    expect(retryJobId(batchJobId(CAMPAIGN, 2, 7), 1)).toBe(`${CAMPAIGN}.w2.b7.r1`);
    expect(heldJobId(batchJobId(CAMPAIGN, 2, 7), until)).toBe(`${CAMPAIGN}.w2.b7.h${until.getTime()}`);
    expect(heldJobId(batchJobId(CAMPAIGN, 2, 7), new Date(until.getTime()))).toBe(heldJobId(batchJobId(CAMPAIGN, 2, 7), until));
  });

  it('a retry replaces an earlier retry suffix; a hold derives from its parent’s whole id', () => {
    const batch = batchJobId(CAMPAIGN, 1, 1);
    expect(retryJobId(retryJobId(batch, 1), 2)).toBe(`${batch}.r2`);
    expect(retryJobId(`${batch}.r12`, 13)).toBe(`${batch}.r13`);
    // A retried batch held for quiet hours keeps its .rN: the batch's own hold until the same instant holds other
    // recipients, and BullMQ would drop an add whose id it still holds.
    expect(heldJobId(`${batch}.r3`, until)).toBe(`${batch}.r3.h${until.getTime()}`);
    expect(heldJobId(`${batch}.r3`, until)).not.toBe(heldJobId(batch, until));
    // A held job retried keeps its hold: .h<ms>.r<n>, and a further retry replaces the .r only.
    const held = heldJobId(batch, until);
    expect(retryJobId(held, 1)).toBe(`${held}.r1`);
    expect(retryJobId(retryJobId(held, 1), 2)).toBe(`${held}.r2`);
  });

  const steps = fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('retry' as const), attempt: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ kind: fc.constant('held' as const), ms: fc.integer({ min: 0, max: 4_102_444_800_000 }) }),
    ),
    { maxLength: 5 },
  );
  /** The ids of a batch's descendants, as the sender derives them (a retry's attempt is its parent's + 1). */
  const lineage = (campaign: string, wave: number, batch: number, path: Array<{ kind: 'retry' | 'held'; ms?: number }>) => {
    let id = batchJobId(campaign, wave, batch);
    let attempt = 0;
    const ids = [id];
    for (const step of path) {
      if (step.kind === 'retry') id = retryJobId(id, ++attempt);
      else [id, attempt] = [heldJobId(id, new Date(step.ms ?? 0)), 0];
      ids.push(id);
    }
    return ids;
  };

  it('never contain a colon (BullMQ refuses it in custom ids), and never stack two retry suffixes (property)', () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 1000 }),
        steps,
        (campaign, wave, batch, path) => {
          for (const id of [planJobId(campaign, wave), ...lineage(campaign, wave, batch, path)]) {
            expect(id).not.toContain(':');
            expect(id).not.toMatch(/\.r\d+\.r\d+/);
          }
        },
      ),
    );
  });

  it('give different jobs of one batch different ids (property: no collision drops recipients)', () => {
    fc.assert(
      fc.property(fc.uuid(), steps, steps, (campaign, a, b) => {
        const left = lineage(campaign, 1, 1, a);
        const right = lineage(campaign, 1, 1, b);
        // Two descendants share an id only if they are the same job: the same path from the batch.
        const key = (path: typeof a, n: number) => JSON.stringify(path.slice(0, n).map((p) => (p.kind === 'retry' ? 'r' : p.ms)));
        left.forEach((id, i) =>
          right.forEach((other, j) => {
            if (id === other) expect(key(a, i)).toBe(key(b, j));
          }),
        );
      }),
    );
  });
});

describe('chunk', () => {
  it('splits into batches of the size, the last one short', () => {
    expect(chunk(['1', '2', '3', '4', '5'], 2)).toEqual([['1', '2'], ['3', '4'], ['5']]);
    expect(chunk(['1', '2', '3', '4'], 2)).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(chunk(['1'], 500)).toEqual([['1']]);
    expect(chunk([], 500)).toEqual([]);
  });

  it('refuses a size that is not a whole number of 1 or more', () => {
    for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => chunk(['1'], size)).toThrow(RangeError);
  });

  it('keeps every item once, in order, in full batches but the last', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 50 }), (items, size) => {
        const batches = chunk(items, size);
        expect(batches.flat()).toEqual(items);
        expect(batches).toHaveLength(Math.ceil(items.length / size));
        batches.forEach((b, i) => {
          if (i < batches.length - 1) expect(b).toHaveLength(size);
          else expect(b.length).toBeGreaterThanOrEqual(1);
        });
      }),
    );
  });
});

describe('planResults: provider answers → ledger outcomes, retries, penalties', () => {
  const policy: RetryPolicy = { attempt: 0, maxAttempts: 5, backoffMs: 1500, maxRetryAfterMs: 3_600_000 };

  it('splits sent, invalid and failed, with reasons', () => {
    const plan = planResults(
      [
        { deviceId: '1', outcome: 'sent' },
        { deviceId: '2', outcome: 'invalid_token', status: 410, reason: 'Unregistered' },
        { deviceId: '3', outcome: 'invalid_token' },
        { deviceId: '4', outcome: 'failed', status: 400, reason: 'InvalidArgument' },
        { deviceId: '5', outcome: 'failed', reason: 'payload too large' },
        { deviceId: '6', outcome: 'failed', status: 403 },
        { deviceId: '7', outcome: 'failed' },
        { deviceId: '8', outcome: 'sent' },
      ],
      policy,
    );
    expect(plan).toEqual({
      sent: ['1', '8'],
      invalid: [
        { deviceId: '2', reason: 'Unregistered' },
        { deviceId: '3', reason: 'invalid token' },
      ],
      failed: [
        { deviceId: '4', reason: '400 InvalidArgument', transient: false },
        { deviceId: '5', reason: 'payload too large', transient: false },
        { deviceId: '6', reason: 'HTTP 403', transient: false },
        { deviceId: '7', reason: 'failed', transient: false },
      ],
      retry: { deviceIds: [], delayMs: 0 },
      throttledForMs: null,
    });
  });

  it('retries after the longest Retry-After in the batch', () => {
    const plan = planResults(
      [
        { deviceId: '1', outcome: 'retry', status: 503, retryAfterMs: 2000 },
        { deviceId: '2', outcome: 'retry', status: 503, retryAfterMs: 9000 },
        { deviceId: '3', outcome: 'retry', status: 500 },
        { deviceId: '4', outcome: 'sent' },
      ],
      policy,
    );
    expect(plan.retry).toEqual({ deviceIds: ['1', '2', '3'], delayMs: 9000 });
    expect(plan.sent).toEqual(['4']);
  });

  it('retries after the backoff when no Retry-After was given', () => {
    const plan = planResults(
      [
        { deviceId: '1', outcome: 'retry', status: 502 },
        { deviceId: '2', outcome: 'retry', reason: 'timeout' },
      ],
      policy,
    );
    expect(plan.retry).toEqual({ deviceIds: ['1', '2'], delayMs: 1500 });
    expect(plan.failed).toEqual([]);
  });

  it('fails the retryable ones on the last attempt as transient, saying after how many', () => {
    const plan = planResults(
      [
        { deviceId: '1', outcome: 'retry', status: 503, reason: 'Unavailable' },
        { deviceId: '2', outcome: 'retry' },
        { deviceId: '3', outcome: 'sent' },
      ],
      { ...policy, attempt: 4 },
    );
    expect(plan.retry).toEqual({ deviceIds: [], delayMs: 0 });
    expect(plan.failed).toEqual([
      { deviceId: '1', reason: '503 Unavailable (after 5 attempts)', transient: true },
      { deviceId: '2', reason: 'failed (after 5 attempts)', transient: true },
    ]);
    // One attempt before the last still retries.
    expect(planResults([{ deviceId: '1', outcome: 'retry' }], { ...policy, attempt: 3 }).retry.deviceIds).toEqual(['1']);
  });

  it('fails them when the provider asks to wait longer than the maximum (rather than parking the batch for days)', () => {
    const plan = planResults(
      [
        { deviceId: '1', outcome: 'retry', status: 503, retryAfterMs: 3_600_001 },
        { deviceId: '2', outcome: 'retry', status: 503, retryAfterMs: 1000 },
      ],
      policy,
    );
    // The longest Retry-After decides for the whole batch.
    expect(plan.retry).toEqual({ deviceIds: [], delayMs: 0 });
    expect(plan.failed).toEqual([
      { deviceId: '1', reason: 'HTTP 503 (retry after 3600001 ms)', transient: true },
      { deviceId: '2', reason: 'HTTP 503 (retry after 3600001 ms)', transient: true },
    ]);
    // Exactly the maximum is still a retry.
    expect(planResults([{ deviceId: '1', outcome: 'retry', retryAfterMs: 3_600_000 }], policy).retry).toEqual({
      deviceIds: ['1'],
      delayMs: 3_600_000,
    });
  });

  it('throttles the provider on 429 (its Retry-After, else the backoff), not on 5xx', () => {
    expect(planResults([{ deviceId: '1', outcome: 'retry', status: 429, retryAfterMs: 30_000 }], policy).throttledForMs).toBe(30_000);
    expect(planResults([{ deviceId: '1', outcome: 'retry', status: 429 }], policy).throttledForMs).toBe(1500);
    expect(
      planResults(
        [
          { deviceId: '1', outcome: 'retry', status: 429, retryAfterMs: 5000 },
          { deviceId: '2', outcome: 'retry', status: 429, retryAfterMs: 20_000 },
          { deviceId: '3', outcome: 'retry', status: 503, retryAfterMs: 60_000 },
        ],
        policy,
      ).throttledForMs,
    ).toBe(20_000);
    for (const status of [500, 502, 503, 504]) {
      expect(planResults([{ deviceId: '1', outcome: 'retry', status, retryAfterMs: 5000 }], policy).throttledForMs).toBeNull();
    }
    // Still throttled on the last attempt: the provider asked us to slow down either way.
    expect(planResults([{ deviceId: '1', outcome: 'retry', status: 429 }], { ...policy, attempt: 4 }).throttledForMs).toBe(1500);
  });

  const results = fc.array(
    fc.record(
      {
        outcome: fc.constantFrom('sent' as const, 'invalid_token' as const, 'retry' as const, 'failed' as const),
        status: fc.constantFrom(200, 400, 404, 410, 429, 500, 503),
        retryAfterMs: fc.integer({ min: 0, max: 7_200_000 }),
        reason: fc.string({ maxLength: 10 }),
      },
      { requiredKeys: ['outcome'] },
    ),
    { maxLength: 60 },
  );

  it('puts every device in exactly one of sent, invalid, failed and retry (property)', () => {
    fc.assert(
      fc.property(
        results,
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 120_000 }),
        (raw, attempt, maxAttempts, backoffMs) => {
          const input: ProviderResult[] = raw.map((r, i) => ({ ...r, deviceId: String(i + 1) }));
          const plan = planResults(input, { attempt, maxAttempts, backoffMs, maxRetryAfterMs: 3_600_000 });
          const placed = [
            ...plan.sent,
            ...plan.invalid.map((x) => x.deviceId),
            ...plan.failed.map((x) => x.deviceId),
            ...plan.retry.deviceIds,
          ];
          expect([...placed].sort((a, b) => Number(a) - Number(b))).toEqual(input.map((r) => r.deviceId));
          // Sent and invalid are what the provider said; nothing retries on or past the last attempt.
          expect(plan.sent).toEqual(input.filter((r) => r.outcome === 'sent').map((r) => r.deviceId));
          expect(plan.invalid.map((x) => x.deviceId)).toEqual(input.filter((r) => r.outcome === 'invalid_token').map((r) => r.deviceId));
          if (attempt + 1 >= maxAttempts) expect(plan.retry.deviceIds).toEqual([]);
          if (plan.retry.deviceIds.length === 0) expect(plan.retry.delayMs).toBe(0);
          else expect(plan.retry.delayMs).toBeLessThanOrEqual(3_600_000);
          expect(plan.throttledForMs !== null).toBe(input.some((r) => r.outcome === 'retry' && r.status === 429));
        },
      ),
    );
  });
});

describe('judgeGuards', () => {
  const settings = { errorRateThreshold: 0.5, invalidRateThreshold: 0.5, errorRateMinSample: 200 };
  const w = (recentTotal: number, recentFailed: number, recentInvalid = 0) => ({ recentTotal, recentFailed, recentInvalid });
  const guard = (...args: Parameters<typeof judgeGuards>) => judgeGuards(...args)?.guard ?? null;

  it('never judges the rates below the minimum sample, however bad', () => {
    expect(guard(w(199, 199), 0, settings)).toBeNull();
    expect(guard(w(199, 0, 199), 0, settings)).toBeNull();
    expect(guard(w(0, 0), 0, { ...settings, errorRateMinSample: 0 })).toBeNull();
  });

  it('pauses strictly above the error-rate threshold (retries count as failures)', () => {
    expect(guard(w(200, 100), 0, settings)).toBeNull();
    expect(guard(w(200, 101), 0, settings)).toBe('error-rate guard');
    expect(guard(w(10, 1), 0, { ...settings, errorRateThreshold: 0, errorRateMinSample: 10 })).toBe('error-rate guard');
    expect(guard(w(10, 0), 0, { ...settings, errorRateThreshold: 0, errorRateMinSample: 10 })).toBeNull();
  });

  it('pauses on invalid tokens with their own threshold', () => {
    expect(guard(w(200, 0, 100), 0, settings)).toBeNull();
    expect(guard(w(200, 0, 101), 0, settings)).toBe('invalid-token guard');
    expect(guard(w(200, 0, 21), 0, { ...settings, invalidRateThreshold: 0.1 })).toBe('invalid-token guard');
  });

  it('pauses as soon as any recipient failed for a transient cause, whatever the sample', () => {
    expect(judgeGuards(w(1, 1), 1, settings)).toMatchObject({ guard: 'transient-failure guard', figures: { failed_transient: 1 } });
  });

  it("judges each provider's own window: one provider down out of three pauses, whatever the others answer", () => {
    // 300 FCM answers all failing next to 600 APNs and Web Push successes: 33 % overall, 100 % for FCM.
    const split = { ...w(900, 300), byProvider: { apns: w(300, 0), fcm: w(300, 300), webpush: w(300, 0) } };
    expect(guard(w(900, 300), 0, settings)).toBeNull();
    expect(judgeGuards(split, 0, settings)).toEqual({
      guard: 'error-rate guard',
      reason: 'paused automatically: 300 of the last 300 fcm answers failed or asked for a retry (100%, above 50%)',
      figures: { recent_total: 300, recent_failed: 300, recent_invalid: 0, provider: 'fcm', threshold: 0.5 },
    });
    // Below its minimum sample a provider's window is not judged, however bad.
    expect(guard({ ...w(900, 199), byProvider: { fcm: w(199, 199), apns: w(701, 0) } }, 0, settings)).toBeNull();
    // At the threshold, not above: no pause.
    expect(guard({ ...w(900, 100), byProvider: { fcm: w(200, 100), apns: w(700, 0) } }, 0, settings)).toBeNull();
  });

  it("pauses on one provider's invalid tokens (an APNs environment mix-up), the error rate first", () => {
    const apnsMixUp = { ...w(1000, 0, 300), byProvider: { fcm: w(700, 0), apns: w(300, 0, 300) } };
    expect(judgeGuards(apnsMixUp, 0, settings)).toMatchObject({ guard: 'invalid-token guard', figures: { provider: 'apns' } });
    const both = { ...w(1000, 300, 300), byProvider: { fcm: w(300, 300), apns: w(300, 0, 300) } };
    expect(guard(both, 0, settings)).toBe('error-rate guard');
    expect(guard({ ...apnsMixUp, byProvider: { apns: w(300, 0, 300) } }, 1, settings)).toBe('transient-failure guard');
  });

  it('says why, with the figures', () => {
    expect(judgeGuards(w(200, 101), 0, settings)).toEqual({
      guard: 'error-rate guard',
      reason: 'paused automatically: 101 of the last 200 provider answers failed or asked for a retry (50.5%, above 50%)',
      figures: { recent_total: 200, recent_failed: 101, recent_invalid: 0, threshold: 0.5 },
    });
    expect(judgeGuards(w(400, 0, 400), 0, settings)?.reason).toContain('APNs sandbox or production');
  });
});

describe('windowDelay', () => {
  it('is now with no window, or with the window open', () => {
    const noon = at('2026-06-16T12:00:00+02:00');
    expect(windowDelay(null, noon)).toEqual(noon);
    expect(windowDelay(parisNight, at('2026-06-16T03:00:00+02:00'))).toEqual(at('2026-06-16T03:00:00+02:00'));
  });

  it('is the next opening when the window is shut, at its closing instant too', () => {
    expect(windowDelay(parisNight, at('2026-06-16T12:00:00+02:00'))).toEqual(at('2026-06-17T01:00:00+02:00'));
    expect(windowDelay(parisNight, at('2026-06-16T06:00:00+02:00'))).toEqual(at('2026-06-17T01:00:00+02:00'));
  });

  it('follows the Paris DST nights (4 real hours in spring, 6 in autumn)', () => {
    // 2026-03-29: 01:00 CET (00:00Z) to 06:00 CEST (04:00Z).
    expect(windowDelay(parisNight, at('2026-03-28T23:30:00Z'))).toEqual(at('2026-03-29T00:00:00Z'));
    expect(windowDelay(parisNight, at('2026-03-29T03:59:59Z'))).toEqual(at('2026-03-29T03:59:59Z'));
    expect(windowDelay(parisNight, at('2026-03-29T04:00:00Z'))).toEqual(at('2026-03-29T23:00:00Z'));
    // 2026-10-25: 01:00 CEST (23:00Z the day before) to 06:00 CET (05:00Z).
    expect(windowDelay(parisNight, at('2026-10-24T12:00:00Z'))).toEqual(at('2026-10-24T23:00:00Z'));
    expect(windowDelay(parisNight, at('2026-10-25T04:30:00Z'))).toEqual(at('2026-10-25T04:30:00Z'));
    expect(windowDelay(parisNight, at('2026-10-25T05:00:00Z'))).toEqual(at('2026-10-26T00:00:00Z'));
  });
});

describe('heldRelease', () => {
  it('is the end of the quiet hours when there is no window', () => {
    const until = at('2026-03-29T06:00:00Z');
    expect(heldRelease(null, night, 'Europe/Paris', until)).toEqual(until);
    expect(heldRelease(null, null, 'UTC', until)).toEqual(until);
  });

  it('is null when the window and the quiet hours exclude each other (Paris window, Paris recipient)', () => {
    expect(heldRelease(parisNight, night, 'Europe/Paris', at('2026-06-16T08:00:00+02:00'))).toBeNull();
    expect(heldRelease(parisNight, night, 'Europe/Paris', at('2026-03-29T06:00:00Z'))).toBeNull();
    expect(heldRelease(parisNight, night, 'Europe/Paris', at('2026-10-25T07:00:00Z'))).toBeNull();
    // UTC recipients' quiet hours (22:00–08:00Z) cover the whole Paris night too, summer and winter.
    expect(heldRelease(parisNight, night, 'UTC', at('2026-03-29T08:00:00Z'))).toBeNull();
    expect(heldRelease(parisNight, night, 'Mars/Olympus_Mons', at('2026-10-25T08:00:00Z'))).toBeNull();
  });

  it('on the spring-forward night (2026-03-29): inside the 4-hour window, or the next night', () => {
    // Kolkata's quiet hours end at 08:00 IST = 02:30Z, inside the window (00:00Z–04:00Z).
    expect(heldRelease(parisNight, night, 'Asia/Kolkata', at('2026-03-29T02:30:00Z'))).toEqual(at('2026-03-29T02:30:00Z'));
    // Tokyo's end at 08:00 JST = 23:00Z the day before; the window opens at 01:00 CET = 00:00Z.
    expect(heldRelease(parisNight, night, 'Asia/Tokyo', at('2026-03-28T23:00:00Z'))).toEqual(at('2026-03-29T00:00:00Z'));
    // New York's end at 08:00 EDT = 12:00Z, after the window: the next night's 01:00 CEST = 23:00Z (19:00 in New York).
    expect(heldRelease(parisNight, night, 'America/New_York', at('2026-03-29T12:00:00Z'))).toEqual(at('2026-03-29T23:00:00Z'));
    // 05:30 Paris would be open on an ordinary winter night, but this one closes at 06:00 CEST = 04:00Z.
    expect(heldRelease(parisNight, null, 'UTC', at('2026-03-29T03:59:00Z'))).toEqual(at('2026-03-29T03:59:00Z'));
    expect(heldRelease(parisNight, null, 'UTC', at('2026-03-29T04:00:00Z'))).toEqual(at('2026-03-29T23:00:00Z'));
  });

  it('on the fall-back night (2026-10-25): the 6-hour window from 23:00Z to 05:00Z', () => {
    expect(heldRelease(parisNight, null, 'UTC', at('2026-10-24T22:59:00Z'))).toEqual(at('2026-10-24T23:00:00Z'));
    expect(heldRelease(parisNight, null, 'UTC', at('2026-10-25T04:30:00Z'))).toEqual(at('2026-10-25T04:30:00Z'));
    expect(heldRelease(parisNight, null, 'UTC', at('2026-10-25T05:00:00Z'))).toEqual(at('2026-10-26T00:00:00Z'));
    // Tokyo's quiet hours end at 08:00 JST = 23:00Z: the window is open then (01:00 CEST, the first one).
    expect(heldRelease(parisNight, night, 'Asia/Tokyo', at('2026-10-24T23:00:00Z'))).toEqual(at('2026-10-24T23:00:00Z'));
    // New York (still on EDT until 1 November): 08:00 EDT = 12:00Z → the next opening, 01:00 CET = 00:00Z on the 26th.
    expect(heldRelease(parisNight, night, 'America/New_York', at('2026-10-25T12:00:00Z'))).toEqual(at('2026-10-26T00:00:00Z'));
  });

  it('is never before `until`, and is inside the window and outside the quiet hours (property)', () => {
    const zones = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'Asia/Kolkata', 'UTC', 'Australia/Lord_Howe', 'Nowhere/Unknown'];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2026-03-27T00:00:00Z'), max: Date.parse('2026-03-31T00:00:00Z') }),
        fc.integer({ min: Date.parse('2026-10-23T00:00:00Z'), max: Date.parse('2026-10-27T00:00:00Z') }),
        fc.boolean(),
        fc.constantFrom(...zones),
        (spring, autumn, pickSpring, zone) => {
          const until = new Date(pickSpring ? spring : autumn);
          const release = heldRelease(parisNight, night, zone, until);
          if (release === null) return;
          expect(release.getTime()).toBeGreaterThanOrEqual(until.getTime());
          expect(isInsideWindow(parisNight, release)).toBe(true);
          expect(isQuiet(night, zone, release)).toBe(false);
        },
      ),
    );
  });
});

describe('nextWaveDue', () => {
  it('is the interval after the wave started, in real time (DST does not stretch it)', () => {
    expect(nextWaveDue(at('2026-06-16T01:00:00Z'), 1800)).toEqual(at('2026-06-16T01:30:00Z'));
    expect(nextWaveDue(at('2026-06-16T01:00:00Z'), 0)).toEqual(at('2026-06-16T01:00:00Z'));
    // Across the Paris jump (02:00 CET → 03:00 CEST) an hour is an hour: 01:30 CET + 1 h = 03:30 CEST.
    expect(nextWaveDue(at('2026-03-29T00:30:00Z'), 3600)).toEqual(at('2026-03-29T03:30:00+02:00'));
    // Across the repeated hour: 02:30 CEST + 1 h = 02:30 CET.
    expect(nextWaveDue(at('2026-10-25T02:30:00+02:00'), 3600)).toEqual(at('2026-10-25T02:30:00+01:00'));
  });
});

describe('campaign rate limits next to the system’s', () => {
  const settings = { globalPerMinute: 100_000, providerPerMinute: { fcm: 600_000, apns: null, webpush: 50 } };

  it('keeps the system’s and the campaign’s apart; the campaign’s rate is the stricter of its campaign and global', () => {
    expect(campaignLimits(null, settings)).toEqual({
      system: settings,
      campaign: { perMinute: null, providerPerMinute: { fcm: null, apns: null, webpush: null } },
    });
    const limits = campaignLimits(
      { campaignPerMinute: 5000, globalPerMinute: 3000, providerPerMinute: { apns: 100, fcm: null } },
      settings,
    );
    expect(limits.campaign).toEqual({ perMinute: 3000, providerPerMinute: { fcm: null, apns: 100, webpush: null } });
    expect(campaignLimits({ globalPerMinute: 3000 }, settings).campaign.perMinute).toBe(3000);
    expect(campaignLimits({ campaignPerMinute: 5000, globalPerMinute: null }, settings).campaign.perMinute).toBe(5000);
    // A copy: changing the settings later does not change limits already computed.
    expect(limits.system.providerPerMinute).not.toBe(settings.providerPerMinute);
  });

  it('plans with the stricter of the two, per kind', () => {
    const limits = campaignLimits({ campaignPerMinute: 5000, providerPerMinute: { fcm: 1000, apns: 100 } }, settings);
    expect(planningLimits(limits)).toEqual({
      globalPerMinute: 100_000,
      campaignPerMinute: 5000,
      providerPerMinute: { fcm: 1000, apns: 100, webpush: 50 },
    });
    expect(
      planningLimits(campaignLimits(null, { globalPerMinute: null, providerPerMinute: { fcm: null, apns: null, webpush: null } })),
    ).toEqual({
      globalPerMinute: null,
      campaignPerMinute: null,
      providerPerMinute: { fcm: null, apns: null, webpush: null },
    });
  });
});
