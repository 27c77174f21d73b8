/**
 * The soak (issue #11; `npm run soak -- --minutes 10`, never in CI): the gateway and the ws app as processes on
 * loopback under a steady load (bench/soak/load.ts) for `--minutes`, sampled every `--sample` seconds (heap after a
 * full GC, descriptors, sockets, client connections, Redis connections, event-loop delay), a table printed as it goes,
 * and a verdict (bench/soak/verdict.ts): heap growth from the first warm sample to the last within the bound, sockets
 * back to their count before the load once it stopped, Redis connections constant. How to read it: docs/benchmarks.md,
 * "Soak".
 *
 * Options: --minutes (10), --rate (users a second, 4), --session (seconds, 15), --burst (seconds between arrival
 * bursts, 10), --capacity (the room's places; default rate × (session + burst / 4): the room keeps up on average,
 * and about a quarter of every burst finds it full and waits on a socket for a few seconds), --poll-rate (10 polls a second), --sample (10 s), --warm (60 s, at
 * most half the run), --heap-bound-percent (10), --heap-bound-mb (5), --drain (seconds to wait for sockets to close
 * after the load, 120).
 */
import { pause } from '../lib/abort';
import { round } from '../lib/results';
import type { BenchContext, BenchOutcome, Benchmark } from '../lib/types';
import { SoakLoad } from './load';
import { redisConnectionsByName, sampleApp } from './sample';
import { PATH_PREFIX, ROOM_ID, startSoakSystem } from './system';
import { APP_KEYS, judge, sampleHeader, sampleLine, type AppKey, type Phase, type Sample } from './verdict';

/** The PostgreSQL pool of each app (DATABASE_POOL_SIZE here) opens and closes idle connections by itself. */
const POOL_SIZE = 2;

export const benchmark: Benchmark = {
  describe: 'soak (on demand): gateway and ws under steady load for --minutes; heap after GC, sockets, Redis connections, a verdict',
  run,
};

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const minutes = ctx.number('minutes', 10, 0.5, 24 * 60);
  const rate = ctx.number('rate', 4, 0.1, 500);
  const sessionSeconds = ctx.number('session', 15, 3, 3600);
  const burstSeconds = ctx.number('burst', 10, 1, 600);
  const capacity = ctx.number('capacity', Math.ceil(rate * (sessionSeconds + burstSeconds / 4)), 1, 1_000_000);
  const pollRate = ctx.number('poll-rate', 10, 0, 1000);
  const sampleSeconds = ctx.number('sample', 10, 1, 600);
  const warmSeconds = ctx.number('warm', Math.min(60, (minutes * 60) / 2), 0, minutes * 60);
  const heapBoundPercent = ctx.number('heap-bound-percent', 10, 0, 1000);
  const heapBoundMb = ctx.number('heap-bound-mb', 5, 0, 100_000);
  const drainSeconds = ctx.number('drain', 120, 5, 3600);
  const bounds = { warmSeconds, heapBoundPercent, heapBoundMb, socketSlack: POOL_SIZE };
  // The admission rate never binds (its bucket holds rpm / 6): the room's places do.
  const newUsersPerMinute = Math.ceil(rate * 60 * 3);

  const system = await startSoakSystem(ctx, { capacity, newUsersPerMinute, sessionSeconds });
  ctx.log(`gateway ${system.gateway.url} (metrics ${system.gateway.metricsUrl}), ws ${system.ws.url} (metrics ${system.ws.metricsUrl})`);
  ctx.log(
    `${minutes} min: ${rate} users/s in bursts every ${burstSeconds} s, room of ${capacity} places, sessions of ${sessionSeconds} s, ` +
      `${pollRate} polls/s; a sample every ${sampleSeconds} s`,
  );

  const load = new SoakLoad({
    gatewayUrl: system.gateway.url,
    wsUrl: system.ws.url,
    roomId: ROOM_ID,
    pathPrefix: PATH_PREFIX,
    sessionSeconds,
    rate,
    burstSeconds,
    pollRate,
  });
  const samples: Sample[] = [];
  // Until the load starts, samples are timed from here; their t is made relative to the start (negative) then.
  const sampledFrom = Date.now();
  let loadStartedAt = sampledFrom;
  const take = async (phase: Phase): Promise<Sample> => {
    const byName = await redisConnectionsByName(system.redis.client);
    const apps = {} as Sample['apps'];
    for (const key of APP_KEYS) apps[key] = await sampleApp(system[key], key, byName);
    const { inProgress, waiting } = load.state();
    const sample: Sample = { t: (Date.now() - loadStartedAt) / 1000, phase, inProgress, waiting, apps };
    samples.push(sample);
    process.stderr.write(`${sampleLine(sample)}\n`);
    return sample;
  };

  // The connections of the readiness checks above close after undici's 4 s keep-alive: the baseline has none.
  await pause(5000, ctx.signal);
  process.stderr.write(`${sampleHeader()}\n`);
  await take('before');
  await pause(2000, ctx.signal);
  await take('before');

  loadStartedAt = Date.now();
  for (const s of samples) s.t -= (loadStartedAt - sampledFrom) / 1000;
  load.start();
  let stopping = false;
  try {
    const end = loadStartedAt + minutes * 60_000;
    // A quarter of a period after each tick, not on it: with the default 10 s for both, 2.5 s after each burst,
    // while part of it still waits in line.
    for (let k = 1; ; k++) {
      const next = Math.min(loadStartedAt + (k - 0.75) * sampleSeconds * 1000, end);
      await pause(Math.max(0, next - Date.now()), ctx.signal);
      await take('load');
      if (next >= end) break;
    }
    stopping = true;
    ctx.log('load stopped: waiting for the users in progress to finish');
    await load.stop((sessionSeconds + 2 * burstSeconds + 30) * 1000);
  } finally {
    if (!stopping) await load.stop(0);
  }

  // After the load: until every client connection is closed and the sockets are back, or `drain` seconds.
  const loadEndedAt = Date.now();
  const baseline = samples.filter((s) => s.phase === 'before').at(-1) as Sample;
  const settled = (s: Sample) =>
    APP_KEYS.every(
      (k) => s.apps[k].clients <= baseline.apps[k].clients && s.apps[k].sockets <= baseline.apps[k].sockets + bounds.socketSlack,
    ) && (s.apps.ws.waitingSockets ?? 0) === 0;
  let last = await take('after');
  while (!settled(last) && Date.now() - loadEndedAt < drainSeconds * 1000) {
    await pause(5000, ctx.signal);
    last = await take('after');
  }
  const drainedInSeconds = (Date.now() - loadEndedAt) / 1000;

  const verdict = judge(samples, bounds);
  const counts = load.state();
  ctx.log(verdict.ok ? 'verdict: PASS' : `verdict: FAIL\n  ${verdict.failures.join('\n  ')}`);
  if (counts.errors > 0) ctx.log(`users with an error: ${counts.errors}, e.g. ${counts.errorSamples.join(' | ')}`);

  // The headline: the app whose heap grew the most (relative), end vs warm; lower is better, like a latency.
  const worst = [...APP_KEYS].sort((a, b) => verdict.apps[b].growthPercent - verdict.apps[a].growthPercent)[0] as AppKey;
  const w = verdict.apps[worst];
  const perApp = (k: AppKey) => {
    const v = verdict.apps[k];
    return {
      [`${k}HeapWarmMb`]: round(v.warmHeapMb),
      [`${k}HeapEndMb`]: round(v.endHeapMb),
      [`${k}HeapGrowthMb`]: round(v.growthMb),
      [`${k}HeapGrowthPercent`]: round(v.growthPercent),
      [`${k}HeapAllowedMb`]: round(v.allowedMb),
      [`${k}HeapSlopeMbPerMinute`]: round(v.slopeMbPerMinute),
      [`${k}SocketsBeforePeakAfter`]: `${v.socketsBefore} / ${v.socketsPeak} / ${v.socketsAfter}`,
      [`${k}ClientsBeforePeakAfter`]: `${v.clientsBefore} / ${v.clientsPeak} / ${v.clientsAfter}`,
      [`${k}RedisConnections`]: v.redisConnections.join(', '),
      [`${k}LoopLagP99MaxMs`]: round(Math.max(...samples.filter((s) => s.phase === 'load').map((s) => s.apps[k].loopLagP99Ms))),
    };
  };
  return {
    name: 'soak',
    metric: `heap after GC at the end of the load (${worst}, the largest relative growth)`,
    unit: 'MB',
    value: round(w.endHeapMb),
    baseline: round(w.warmHeapMb),
    ratio: round(w.warmHeapMb / w.endHeapMb),
    params: { minutes, rate, sessionSeconds, burstSeconds, capacity, newUsersPerMinute, pollRate, sampleSeconds, ...bounds },
    extra: {
      verdict: verdict.ok ? 'pass' : 'fail',
      failures: verdict.failures,
      ...perApp('gateway'),
      ...perApp('ws'),
      wsWaitingSocketsAfter: last.apps.ws.waitingSockets ?? null,
      drainedInSeconds: round(drainedInSeconds),
      usersStarted: counts.started,
      admittedDirect: counts.direct,
      admittedOnSocket: counts.socket,
      admittedByPolling: counts.poll,
      usersLeft: counts.left,
      userErrors: counts.errors,
      userErrorSamples: counts.errorSamples,
      positionIncreases: counts.positionIncreases,
      socketDisconnects: counts.socketDisconnects,
      polls: counts.polls,
      pollFailures: counts.pollFailures,
      originSessions: system.origin.stats().sessions,
      samples: samples.map(compact),
    },
  };
}

/** One sample in the JSON: rounded, one object per app. */
function compact(s: Sample): Record<string, unknown> {
  return {
    t: round(s.t),
    phase: s.phase,
    users: s.inProgress,
    waiting: s.waiting,
    ...Object.fromEntries(
      APP_KEYS.map((k) => {
        const a = s.apps[k];
        return [
          k,
          {
            heapMb: round(a.heapMb),
            rssMb: round(a.rssMb),
            fds: a.fds,
            sockets: a.sockets,
            clients: a.clients,
            redis: a.redisConnections,
            lagP99Ms: round(a.loopLagP99Ms),
            ...(a.waitingSockets !== undefined && { wsSockets: a.waitingSockets }),
          },
        ];
      }),
    ),
  };
}
