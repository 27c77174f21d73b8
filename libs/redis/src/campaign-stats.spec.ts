import { parseCampaignStats } from './campaign-stats';

describe('parseCampaignStats', () => {
  it('reads totals, providers and waves from the stats hash, ignoring the workers’ other fields', () => {
    const snapshot = parseCampaignStats({
      targeted: '1200',
      sent: '900',
      failed: '10',
      invalid: '5',
      skipped: '20',
      opened: '42',
      'sent:fcm': '600',
      'sent:apns': '300',
      'w1:targeted': '500',
      'w1:sent': '480',
      'w1:failed': '10',
      'w2:targeted': '500',
      'w2:sent': '420',
      'w10:targeted': '200',
      'w2:settled': '430',
      'w2:holding': '3',
      settled: '935',
      recent_total: '100',
      recent_failed: '1',
      waves: '10',
    });
    expect(snapshot).toEqual({
      targeted: 1200,
      sent: 900,
      failed: 10,
      invalid: 5,
      skipped: 20,
      inactive: 0,
      opened: 42,
      by_provider: { fcm: 600, apns: 300, webpush: 0 },
      waves: [
        { wave: 1, targeted: 500, sent: 480, failed: 10, invalid: 0, skipped: 0, inactive: 0 },
        { wave: 2, targeted: 500, sent: 420, failed: 0, invalid: 0, skipped: 0, inactive: 0 },
        { wave: 10, targeted: 200, sent: 0, failed: 0, invalid: 0, skipped: 0, inactive: 0 },
      ],
      waves_planned: 10,
      final_wave: null,
    });
  });

  it('gives the final wave once it is planned', () => {
    expect(parseCampaignStats({ targeted: '3', waves: '1', last_wave: '1', 'w1:targeted': '3' })?.final_wave).toBe(1);
  });

  it('is null for a missing hash, or one holding no campaign counters (only opens)', () => {
    expect(parseCampaignStats({})).toBeNull();
    expect(parseCampaignStats({ opened: '3' })).toBeNull();
  });

  it('reads garbage and fractional counters as 0', () => {
    expect(parseCampaignStats({ targeted: 'x', sent: '1.5', 'w0:sent': '3', 'wx:sent': '1' })).toMatchObject({
      targeted: 0,
      sent: 0,
      waves: [],
    });
  });
});
