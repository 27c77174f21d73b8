import {
  apiWaveField,
  checkCampaign,
  describe as describeProblem,
  needsWaveDefaults,
  toApiMessage,
  toPayload,
  type CampaignBody,
} from './campaign-content';

const now = new Date('2026-06-01T12:00:00Z');
const body = (): CampaignBody => ({
  name: 'n',
  message: {
    title: 't',
    body: 'b',
    deep_link: 'app://x',
    image: 'https://i',
    overrides: { apns: { mutable_content: true, thread_id: 'a' } },
  },
  audience: { segment: { platforms: ['apns'] } },
  schedule: { start_at: '2026-06-02T01:00:00+02:00', send_window: { start: '01:00', end: '06:00', timezone: 'Europe/Paris' } },
  wave_plan: { batch_size: 500, wave_size: 5000, interval_seconds: 2, rate_limits: { global: 1000, per_provider: { apns: 50 } } },
});

describe('campaign content', () => {
  it('stores the message as a NotificationPayload and reads it back in API spelling', () => {
    const payload = toPayload({ title: 't', body: 'b', image: 'i', data: { some_key: 'v' }, overrides: { fcm: { click_action: 'c' } } });
    expect(payload).toEqual({ title: 't', body: 'b', imageUrl: 'i', data: { some_key: 'v' }, overrides: { fcm: { clickAction: 'c' } } });
    expect(toApiMessage(payload)).toEqual({
      title: 't',
      body: 'b',
      image: 'i',
      data: { some_key: 'v' },
      overrides: { fcm: { click_action: 'c' } },
    });
  });

  it('turns a valid body into stored content in the libraries’ types', () => {
    const checked = checkCampaign(body(), { now });
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.content.message).toMatchObject({
      deepLink: 'app://x',
      imageUrl: 'https://i',
      overrides: { apns: { mutableContent: true, threadId: 'a' } },
    });
    expect(checked.content.wavePlan).toEqual({
      batchSize: 500,
      waveSize: 5000,
      intervalSeconds: 2,
      maxWaitSeconds: null,
      pacing: true,
      rateLimits: { globalPerMinute: 1000, providerPerMinute: { apns: 50 } },
    });
    expect(checked.content.audience).toEqual({ segment: { platforms: ['apns'], activeOnly: true } });
  });

  it('names fields in API spelling', () => {
    expect(apiWaveField('rateLimits.providerPerMinute.fcm')).toBe('wave_plan.rate_limits.per_provider.fcm');
    expect(apiWaveField('sendWindow.end')).toBe('schedule.send_window.end');
    const b = body();
    b.wave_plan!.wave_size = 0;
    b.message.overrides = { apns: { badge: -1 } };
    const checked = checkCampaign(b, { now });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.errors.map(describeProblem)).toEqual([
      'message.overrides.apns.badge: must be a whole number, 0 or more',
      'wave_plan.wave_size: must be at least 1',
    ]);
  });

  it('checks the payload size only for the platforms the segment reaches', () => {
    const b = body();
    b.message.data = { blob: 'x'.repeat(3786) }; // fits FCM, not APNs (with the wave ticket's room: CONTENT_LIMITS)
    b.audience = { segment: { platforms: ['fcm'] } };
    expect(checkCampaign(b, { now }).ok).toBe(true);
    b.audience = { segment: { platforms: ['apns'] } };
    const checked = checkCampaign(b, { now });
    expect(checked.ok ? [] : checked.errors.map((e) => e.field)).toEqual(['message']);
  });

  it('accepts a kept start in the past only with an infinite tolerance', () => {
    const b = body();
    b.schedule = { start_at: '2020-01-01T00:00:00Z' };
    expect(checkCampaign(b, { now }).ok).toBe(false);
    expect(checkCampaign(b, { now, startToleranceMs: Infinity }).ok).toBe(true);
  });

  it('fills a wave plan’s missing sizes and interval with the defaults given, and stores them resolved', () => {
    const waveDefaults = { batchSize: 250, waveSize: 2500, intervalSeconds: 30 };
    const b = body();
    delete b.wave_plan;
    expect(needsWaveDefaults(b)).toBe(true);
    const all = checkCampaign(b, { now, waveDefaults });
    expect(all.ok && all.content.wavePlan).toEqual({
      batchSize: 250,
      waveSize: 2500,
      intervalSeconds: 30,
      rateLimits: null,
      maxWaitSeconds: null,
      pacing: true,
    });

    const some = body();
    some.wave_plan = { wave_size: 1000, rate_limits: { campaign: 10 } };
    const checked = checkCampaign(some, { now, waveDefaults });
    expect(checked.ok && checked.content.wavePlan).toEqual({
      batchSize: 250,
      waveSize: 1000,
      intervalSeconds: 30,
      rateLimits: { campaignPerMinute: 10 },
      maxWaitSeconds: null,
      pacing: true,
    });
    // Without defaults given, the built-in ones.
    const builtIn = checkCampaign(some, { now });
    expect(builtIn.ok && builtIn.content.wavePlan).toMatchObject({ batchSize: 500, intervalSeconds: 60 });
    expect(needsWaveDefaults(body())).toBe(false);
  });

  it('still refuses a bad size, and says when a default is what does not fit', () => {
    const b = body();
    b.wave_plan = { batch_size: 501 };
    expect(checkCampaign(b, { now }).ok).toBe(false);
    b.wave_plan = { batch_size: 0 };
    const zero = checkCampaign(b, { now });
    expect(zero.ok ? [] : zero.errors.map(describeProblem)).toEqual(['wave_plan.batch_size: must be between 1 and 500']);
    b.wave_plan = { batch_size: 400 };
    const tooSmall = checkCampaign(b, { now, waveDefaults: { batchSize: 100, waveSize: 300, intervalSeconds: 0 } });
    expect(tooSmall.ok ? [] : tooSmall.errors.map(describeProblem)).toEqual([
      'wave_plan.wave_size: must be at least the batch size (400) (the system default)',
    ]);
  });
});
