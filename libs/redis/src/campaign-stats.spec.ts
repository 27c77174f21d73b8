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
        { wave: 1, targeted: 500, sent: 480, failed: 10, invalid: 0, skipped: 0, inactive: 0, finished_at: null },
        { wave: 2, targeted: 500, sent: 420, failed: 0, invalid: 0, skipped: 0, inactive: 0, finished_at: null },
        { wave: 10, targeted: 200, sent: 0, failed: 0, invalid: 0, skipped: 0, inactive: 0, finished_at: null },
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

  it('reads when each wave finished, and garbage as zero rather than failing', () => {
    const snapshot = parseCampaignStats({
      targeted: '10',
      sent: 'x',
      'sent:fcm': '4',
      'w1:targeted': '5',
      'w1:finished_at': '1795600000000',
      'w2:targeted': '5',
      'w2:holding': '1',
    });
    expect(snapshot?.sent).toBe(0);
    expect(snapshot?.by_provider.fcm).toBe(4);
    expect(snapshot?.waves.map((w) => [w.wave, w.finished_at])).toEqual([
      [1, new Date(1795600000000)],
      [2, null],
    ]);
  });

  it('is null for a hash that holds no campaign counters (only an open, or an error window re-created after a loss)', () => {
    expect(parseCampaignStats({ opened: '1' })).toBeNull();
    expect(parseCampaignStats({ recent_total: '0', recent_failed: '0' })).toBeNull();
  });
});
