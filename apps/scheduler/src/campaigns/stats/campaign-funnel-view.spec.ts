import { funnelBucketOf } from '@tidegate/domain';
import { emptyFunnel, type CampaignStatsSnapshot } from '@tidegate/redis';
import { funnelFromFlushed, funnelView } from './campaign-stats.service';

const snapshot = (waves: Array<[number, number]>): CampaignStatsSnapshot =>
  ({
    sent: waves.reduce((a, [, s]) => a + s, 0),
    waves: waves.map(([wave, sent]) => ({ wave, sent })),
  }) as unknown as CampaignStatsSnapshot;

describe('the funnel view', () => {
  it('takes sent from the dispatch counters and the rest from the tickets, per wave and in total', () => {
    const funnel = emptyFunnel();
    Object.assign(funnel, { opened: 3, queued: 2, admitted: 1, replayed: 1 });
    funnel.waves = [{ wave: 2, opened: 3, queued: 2, admitted: 1 }];
    funnel.queueMs[funnelBucketOf(10_000)] = 1;
    funnel.openDelayMs[funnelBucketOf(60_000)] = 3;
    const view = funnelView(
      snapshot([
        [1, 5],
        [2, 4],
      ]),
      funnel,
    );
    expect(view).toMatchObject({ sent: 9, opened: 3, queued: 2, admitted: 1, replayed: 1 });
    expect(view.waves).toEqual([
      { wave: 1, sent: 5, opened: 0, queued: 0, admitted: 0 },
      { wave: 2, sent: 4, opened: 3, queued: 2, admitted: 1 },
    ]);
    expect(view.queue_time.samples).toBe(1);
    expect(view.open_delay.samples).toBe(3);
    expect(view.open_delay.p50_ms).toBeGreaterThan(60_000 / Math.SQRT2);
    expect(view.open_delay.p50_ms).toBeLessThan(60_000 * Math.SQRT2);
    expect(funnelView(snapshot([]), emptyFunnel()).queue_time).toEqual({ samples: 0, p50_ms: null, p95_ms: null });
  });

  it('reads the flushed copy, malformed JSON as nothing', () => {
    const good = funnelFromFlushed({
      opened: 2,
      queued: 2,
      admitted: 1,
      replayed: 0,
      waves: [{ wave: 1, opened: 2, queued: 2, admitted: 1 }],
      queueMs: [1, 0, 2],
      openDelayMs: [0, 5],
    });
    expect(good.waves).toEqual([{ wave: 1, opened: 2, queued: 2, admitted: 1 }]);
    expect(good.queueMs.slice(0, 3)).toEqual([1, 0, 2]);
    const bad = funnelFromFlushed({
      opened: 1,
      queued: 0,
      admitted: 0,
      replayed: 0,
      waves: 'x',
      queueMs: { a: 1 },
      openDelayMs: [-1, 'x'],
    });
    expect(bad.waves).toEqual([]);
    expect(bad.queueMs).toEqual([]);
    expect(bad.openDelayMs).toEqual([0, 0]);
  });
});
