import { DEFAULT_DISPATCH_SETTINGS, type DispatchSettings } from './dispatch-settings';
import {
  applyDispatchSettingsPatch,
  mergeDispatchSettings,
  sameDispatchSettings,
  validateDispatchSettings,
} from './dispatch-settings-rules';

const fields = (value: unknown) => validateDispatchSettings(value).map((e) => `${e.field}:${e.code}`);
const valid = (): DispatchSettings => mergeDispatchSettings(null);

describe('dispatch settings rules', () => {
  it('reads nothing stored as the defaults, and the defaults are valid', () => {
    expect(mergeDispatchSettings(undefined)).toEqual(DEFAULT_DISPATCH_SETTINGS);
    expect(mergeDispatchSettings('garbage')).toEqual(DEFAULT_DISPATCH_SETTINGS);
    expect(validateDispatchSettings(DEFAULT_DISPATCH_SETTINGS)).toEqual([]);
  });

  it('merges a stored value over the defaults, provider quotas one by one', () => {
    const merged = mergeDispatchSettings({ batchSize: 100, providerPerMinute: { apns: 9000 }, retired: true });
    expect(merged).toEqual({
      ...DEFAULT_DISPATCH_SETTINGS,
      batchSize: 100,
      providerPerMinute: { fcm: 600_000, apns: 9000, webpush: null },
    });
    expect(merged.providerPerMinute).not.toBe(DEFAULT_DISPATCH_SETTINGS.providerPerMinute);
  });

  it('ignores stored fields that break a rule (a hand-edited row), keeping the rest', () => {
    const merged = mergeDispatchSettings({ batchSize: 'x', waveSize: 10, maxAttempts: 3, providerPerMinute: { fcm: -1, apns: 5 } });
    expect(merged).toMatchObject({ batchSize: 500, waveSize: 50_000, maxAttempts: 3, providerPerMinute: { fcm: 600_000, apns: 5 } });
    expect(validateDispatchSettings(merged)).toEqual([]);
  });

  it('applies a patch without touching its inputs; null clears a limit', () => {
    const current = valid();
    const next = applyDispatchSettingsPatch(current, { waveSize: 1000, globalPerMinute: 5000, providerPerMinute: { fcm: null } });
    expect(next).toMatchObject({ waveSize: 1000, globalPerMinute: 5000, providerPerMinute: { fcm: null, apns: null, webpush: null } });
    expect(current).toEqual(DEFAULT_DISPATCH_SETTINGS);
    expect(sameDispatchSettings(current, next)).toBe(false);
    expect(sameDispatchSettings(current, applyDispatchSettingsPatch(current, { batchSize: 500 }))).toBe(true);
    expect(sameDispatchSettings(current, applyDispatchSettingsPatch(current, { providerPerMinute: { apns: 1 } }))).toBe(false);
  });

  it.each([
    [{ batchSize: 0 }, 'batchSize:out_of_range'],
    [{ batchSize: 501 }, 'batchSize:out_of_range'],
    [{ batchSize: 1.5 }, 'batchSize:not_an_integer'],
    [{ batchSize: 200, waveSize: 100 }, 'waveSize:less_than_batch_size'],
    [{ intervalSeconds: -1 }, 'intervalSeconds:out_of_range'],
    [{ globalPerMinute: 0 }, 'globalPerMinute:out_of_range'],
    [{ providerPerMinute: { fcm: -5, apns: null, webpush: null } }, 'providerPerMinute.fcm:out_of_range'],
    [{ providerPerMinute: { sms: 5, fcm: null, apns: null, webpush: null } }, 'providerPerMinute.sms:unknown_platform'],
    [{ errorRateThreshold: 0 }, 'errorRateThreshold:out_of_range'],
    [{ errorRateThreshold: 1.01 }, 'errorRateThreshold:out_of_range'],
    [{ errorRateMinSample: 0 }, 'errorRateMinSample:out_of_range'],
    [{ maxAttempts: 0 }, 'maxAttempts:out_of_range'],
    [{ maxAttempts: 21 }, 'maxAttempts:out_of_range'],
    [{ roomPressureLimit: 0 }, 'roomPressureLimit:out_of_range'],
    [{ roomPressureLimit: '1' }, 'roomPressureLimit:invalid_type'],
    [{ surprise: 1 }, 'surprise:invalid_type'],
  ])('refuses %j', (change, expected) => {
    expect(fields({ ...valid(), ...change })).toEqual([expected]);
  });

  it.each([
    { batchSize: 1, waveSize: 1 },
    { batchSize: 500, waveSize: 500 },
    { intervalSeconds: 0 },
    { intervalSeconds: 0.5 },
    { errorRateThreshold: 1 },
    { maxAttempts: 1 },
    { maxAttempts: 20 },
    { globalPerMinute: null, roomPressureLimit: null },
    { roomPressureLimit: 0.75, globalPerMinute: 1.5 },
  ])('accepts %j', (change) => {
    expect(fields({ ...valid(), ...change })).toEqual([]);
  });

  it('lists every problem at once', () => {
    expect(fields({ ...valid(), batchSize: 0, maxAttempts: 50, errorRateThreshold: -1 })).toEqual([
      'batchSize:out_of_range',
      'errorRateThreshold:out_of_range',
      'maxAttempts:out_of_range',
    ]);
    expect(fields(null)).toEqual(['settings:invalid_type']);
  });
});
