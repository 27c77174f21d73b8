import { countersFromHash } from './stats-flusher';

describe('countersFromHash: the stats hash as PostgreSQL rows', () => {
  it('reads totals, sent per platform and each wave, with when it finished', () => {
    const { totals, waves } = countersFromHash({
      targeted: '10',
      sent: '7',
      failed: '1',
      invalid: '1',
      inactive: '1',
      skipped: '2',
      'sent:fcm': '4',
      'sent:apns': '3',
      waves: '2',
      settled: '10',
      recent_total: '8',
      'w1:targeted': '5',
      'w1:sent': '5',
      'w1:settled': '5',
      'w1:finished_at': '1795600000000',
      'w2:targeted': '5',
      'w2:sent': '2',
      'w2:holding': '1',
    });
    expect(totals).toMatchObject({
      targeted: 10,
      sent: 7,
      failed: 1,
      invalid: 1,
      inactive: 1,
      skipped: 2,
      waves: 2,
      byProvider: { fcm: 4, apns: 3 },
    });
    expect(waves).toEqual([
      { wave: 1, finishedAt: new Date(1795600000000), targeted: 5, sent: 5, failed: 0, invalid: 0, skipped: 0, inactive: 0 },
      { wave: 2, finishedAt: null, targeted: 5, sent: 2, failed: 0, invalid: 0, skipped: 0, inactive: 0 },
    ]);
  });

  it('reads garbage as zero rather than failing the flush', () => {
    expect(countersFromHash({ targeted: 'x', 'w3:sent': '' }).totals.targeted).toBe(0);
  });
});
