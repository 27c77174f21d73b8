/** The soak's verdict (bench/soak/verdict.ts) and its Prometheus and CLIENT LIST readers (bench/soak/sample.ts). */
import { connectionsOf, metricSum } from '../../bench/soak/sample';
import { judge, slope, type AppSample, type Phase, type Sample } from '../../bench/soak/verdict';

const app = (o: Partial<AppSample> = {}): AppSample => ({
  heapMb: 40,
  rssMb: 150,
  fds: 27,
  sockets: 10,
  clients: 0,
  redisConnections: 1,
  loopLagP99Ms: 20,
  ...o,
});

const sample = (t: number, phase: Phase, gateway: Partial<AppSample> = {}, ws: Partial<AppSample> = {}): Sample => ({
  t,
  phase,
  inProgress: 0,
  waiting: 0,
  apps: { gateway: app(gateway), ws: app({ redisConnections: 3, ...ws }) },
});

const bounds = { warmSeconds: 60, heapBoundPercent: 10, heapBoundMb: 5, socketSlack: 2 };

/** A run whose gateway heap goes from `warm` (at 60 s) to `end` (at 600 s), everything else steady. */
function run(warm: number, end: number, extra: Sample[] = []): Sample[] {
  return [
    sample(-2, 'before'),
    sample(30, 'load', { heapMb: warm - 3, sockets: 120, clients: 80 }), // before warm: not judged
    sample(60, 'load', { heapMb: warm, sockets: 120, clients: 80 }),
    sample(330, 'load', { heapMb: (warm + end) / 2, sockets: 120, clients: 80 }),
    sample(600, 'load', { heapMb: end, sockets: 120, clients: 80 }),
    ...extra,
    sample(640, 'after'),
  ];
}

describe('soak verdict', () => {
  it('passes a steady run and reports growth from the first warm sample to the last under load', () => {
    const v = judge(run(40, 41), bounds);
    expect(v.ok).toBe(true);
    expect(v.failures).toEqual([]);
    expect(v.apps.gateway).toMatchObject({ warmHeapMb: 40, endHeapMb: 41, growthMb: 1, allowedMb: 5, heapOk: true });
    expect(v.apps.gateway.growthPercent).toBeCloseTo(2.5);
    expect(v.apps.gateway.slopeMbPerMinute).toBeCloseTo(1 / 9);
    expect(v.apps.gateway).toMatchObject({ socketsBefore: 10, socketsPeak: 120, socketsAfter: 10, clientsPeak: 80, clientsAfter: 0 });
  });

  it('fails a heap that grows by more than the larger of the percentage and the floor', () => {
    expect(judge(run(40, 45), bounds).ok).toBe(true); // 5 MB: the floor
    const v = judge(run(40, 45.5), bounds);
    expect(v.ok).toBe(false);
    expect(v.failures).toEqual(['gateway: heap grew 5.5 MB (allowed 5.0 MB)']);
    // A larger heap is allowed its 10 %.
    expect(judge(run(100, 109), bounds).ok).toBe(true);
    expect(judge(run(100, 111), bounds).ok).toBe(false);
  });

  it('fails when client connections or sockets beyond the pool slack are still open after the load', () => {
    const leaking = run(40, 40);
    (leaking.at(-1) as Sample).apps.gateway.clients = 1;
    expect(judge(leaking, bounds).failures).toEqual(['gateway: 10 sockets (1 clients) open after the load, 10 (0) before']);
    const pool = run(40, 40);
    (pool.at(-1) as Sample).apps.ws.sockets = 12; // the PostgreSQL pool may open its connections again
    expect(judge(pool, bounds).ok).toBe(true);
    (pool.at(-1) as Sample).apps.ws.sockets = 13;
    expect(judge(pool, bounds).ok).toBe(false);
  });

  it('fails when an app opens or closes a Redis connection at any time', () => {
    const v = judge(run(40, 40, [sample(620, 'after', {}, { redisConnections: 4 })]), bounds);
    expect(v.failures).toEqual(['ws: Redis connections varied: 3, 4']);
  });

  it('refuses to judge without a sample before, a warm one, and one after', () => {
    expect(() =>
      judge(
        run(40, 40).filter((s) => s.phase !== 'after'),
        bounds,
      ),
    ).toThrow(/0 after/);
    expect(() => judge(run(40, 40), { ...bounds, warmSeconds: 601 })).toThrow(/0 warm/);
  });

  it('fits the slope by least squares', () => {
    expect(
      slope([
        [0, 1],
        [1, 3],
        [2, 5],
      ]),
    ).toBeCloseTo(2);
    expect(slope([[0, 1]])).toBe(0);
  });
});

describe('soak sample readers', () => {
  it('sums a metric over its series and ignores metrics that only share a prefix', () => {
    const text = [
      '# TYPE tidegate_ws_waiting_sockets gauge',
      'tidegate_ws_waiting_sockets{room="a",app="ws"} 3',
      'tidegate_ws_waiting_sockets{room="b",app="ws"} 4',
      'tidegate_ws_waiting_sockets_total{app="ws"} 100',
      'tidegate_nodejs_eventloop_lag_p99_seconds{app="ws"} 0.0125',
    ].join('\n');
    expect(metricSum(text, 'tidegate_ws_waiting_sockets')).toBe(7);
    expect(metricSum(text, 'tidegate_nodejs_eventloop_lag_p99_seconds')).toBe(0.0125);
    expect(metricSum(text, 'absent')).toBeNaN();
  });

  it("counts an app's Redis connections by name, its socket.io adapter's included, and nobody else's", () => {
    const byName = new Map([
      ['tidegate:ws', 1],
      ['tidegate:ws-pub', 1],
      ['tidegate:ws-sub', 1],
      ['tidegate:wsx', 5],
      ['tidegate:gateway', 1],
      ['soak', 1],
      ['', 2],
    ]);
    expect(connectionsOf('ws', byName)).toBe(3);
    expect(connectionsOf('gateway', byName)).toBe(1);
  });
});
