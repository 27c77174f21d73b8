/**
 * The surge simulator: `npm run simulate -- --devices N --open-rate R --pacing on|off --out FILE.json` (see
 * docs/surge.md, "Simulator", and `--help`). It drives the real system end to end: the apps as processes, devices
 * registered through the import API, a room in front of the simulator's origin, a campaign on the sink whose every
 * push is forwarded here and played by a simulated user, and writes what it measured as JSON and an SVG chart.
 * Everything it starts it stops (by its own handles), and the database and Redis keys it made are removed.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SinkForwardBody } from '@tidegate/push';
import { baseEnv, sleep, startChild, type Child } from '../lib/processes';
import type { BenchContext } from '../lib/types';
import { AdminApi } from './admin';
import { renderChart } from './chart';
import { outcome, perSecond } from './measure';
import { OptionError, parseOptions, USAGE, type SimOptions } from './options';
import { delayHorizon, shardOf } from './prng';
import type { UserRecord, UsersReport, UsersState } from './protocol';
import { startForwardReceiver, startOrigin } from './servers';
import { startSystem } from './system';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access --
   the admin API's answers are read as free-form JSON; the result names every field it takes from them */
type Json = Record<string, any>;

const root = path.resolve(__dirname, '..', '..', '..');
const log = (message: string) => process.stderr.write(`simulate: ${message}\n`);
const CLEANUP_STEP_MS = 20_000;
/** How far apart two admissions may be observed and still count as in order (see fifoInversions). */
const FIFO_TOLERANCE_MS = 1500;

const cleanups: Array<() => Promise<void> | void> = [];
const abort = new AbortController();

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop() as () => Promise<void> | void;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(step),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CLEANUP_STEP_MS))),
      ]);
    } catch (err) {
      log(`clean-up step failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

const ctx: BenchContext = {
  options: {},
  root,
  signal: abort.signal,
  log,
  defer: (step) => void cleanups.push(step),
  number: () => {
    throw new Error('not used');
  },
};

interface Sample {
  t: number;
  waiting: number;
  active: number;
  originSessions: number;
  admittedPerMinute: number;
}

async function run(o: SimOptions): Promise<Json> {
  const runId = randomBytes(4).toString('hex');
  const roomId = `sim-${runId}`;
  const tag = `sim-${runId}`;
  const steadyPerSecond = Math.min(o.admissionPerMinute / 60, o.capacity / o.sessionSeconds);
  const openModel = {
    openRate: o.openRate,
    medianSeconds: o.openMedianSeconds,
    sigma: o.openSigma,
    maxSeconds: delayHorizon(o.openMedianSeconds, o.openSigma),
  };

  // The users' processes, the origin and the forward endpoint come first: the scheduler is told where to forward.
  const users: Child[] = [];
  for (let i = 0; i < o.userProcesses; i++) {
    users.push(startChild(ctx, { name: `users ${i + 1}`, script: path.join(__dirname, 'users.js'), env: baseEnv() }));
  }
  const origin = await startOrigin(o.sessionSeconds);
  ctx.defer(() => origin.close());
  const deliver = (body: SinkForwardBody) => {
    const shards = users.map(() => [] as SinkForwardBody['messages']);
    for (const m of body.messages) shards[shardOf(m.deviceId, users.length)]?.push(m);
    shards.forEach((messages, i) => messages.length > 0 && users[i]?.process.send({ type: 'pushes', messages }));
  };
  const receiver = await startForwardReceiver(deliver, o.useRunning?.forwardPort ?? 0);
  ctx.defer(() => receiver.close());

  const system = await startSystem(ctx, o, receiver.url);
  log(`apps ready: scheduler ${system.schedulerUrl}, gateways ${system.gatewayUrls.join(' ')}, ws ${system.wsUrls.join(' ')}`);
  const api = new AdminApi(system.schedulerUrl, system.apiKey);
  await Promise.all(
    users.map((u) =>
      u.request(
        {
          type: 'config',
          gatewayUrls: system.gatewayUrls,
          wsUrls: system.wsUrls,
          roomId,
          pathPrefix: '/shop',
          sessionSeconds: o.sessionSeconds,
          openModel,
          seed: o.seed,
        },
        'ready',
      ),
    ),
  );

  // The open model the pacer uses is the SREs' setting: the simulated one. No rate limits: the sink takes anything.
  await api.call('PATCH', '/admin/dispatch/settings', {
    open_model: { open_rate: o.openRate, median_delay_seconds: o.openMedianSeconds, sigma: o.openSigma },
    rate_limits: { global: null, per_provider: { fcm: null, apns: null, webpush: null } },
    reason: `surge simulator ${runId}`,
  });
  await api.call('POST', '/admin/rooms', {
    id: roomId,
    name: `Surge simulator ${runId}`,
    origin_url: origin.url,
    paths: ['/shop/*'],
    total_active_users: o.capacity,
    new_users_per_minute: o.admissionPerMinute,
    session_duration_seconds: o.sessionSeconds,
    max_wait_seconds: Math.max(o.budgetSeconds, 60),
  });
  if (o.useRunning) ctx.defer(() => api.call('DELETE', `/admin/rooms/${roomId}`).then(() => undefined));

  const importStarted = Date.now();
  const imported = await api.importDevices(o.devices, tag, runId);
  const importSeconds = (Date.now() - importStarted) / 1000;
  log(`registered ${o.devices} devices in ${importSeconds.toFixed(1)} s`);

  const campaign = await api.call('POST', '/admin/campaigns', {
    name: `Surge simulator ${runId} (pacing ${o.pacing ? 'on' : 'off'})`,
    message: { title: 'Flash sale', body: 'Everything -50% for one hour', deep_link: 'https://shop.example/shop/sale' },
    audience: { segment: { tagsAll: [tag] } },
    wave_plan: {
      batch_size: o.batchSize,
      wave_size: o.waveSize,
      interval_seconds: o.intervalSeconds,
      rate_limits: { campaign: o.sendPerMinute },
      max_wait_seconds: o.budgetSeconds,
      pacing: o.pacing,
    },
    room_id: roomId,
  });
  const id = campaign.id as string;
  const forecast = await api.call<Json>(
    'GET',
    `/admin/campaigns/${id}/forecast?open_rate=${o.openRate}&median_delay_seconds=${o.openMedianSeconds}&sigma=${o.openSigma}`,
  );
  const planned = forecast.planned as Json;
  // With pacing on, the campaign is expected to behave as the paced forecast says; with it off, as planned.
  const expected = (o.pacing ? (forecast.paced as Json | null) : null) ?? planned;
  log(
    `forecast: peak queue ${planned.peak_queue}, max wait ${planned.wait_max_seconds} s (budget ${forecast.budget_seconds} s), ` +
      `recommended ${JSON.stringify({ feasible: forecast.recommendation.feasible, wave_size: forecast.recommendation.wave_size, interval_seconds: forecast.recommendation.interval_seconds })}`,
  );

  // Every gateway serves the room before the campaign starts (a probe that takes no place: the origin's goodbye path).
  for (const gw of system.gatewayUrls) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await fetch(`${gw}/shop/bye?device=probe`, {
        headers: { accept: 'application/json', 'x-device-id': `sim-probe-${runId}` },
      });
      const token = res.headers.get('x-tidegate-token');
      await res.arrayBuffer();
      if (res.headers.get('x-origin') === 'sim' && token) {
        await fetch(`${gw}/rooms/${roomId}/leave`, { method: 'POST', headers: { 'x-tidegate-token': token } }).then((r) => r.arrayBuffer());
        break;
      }
      if (Date.now() > deadline) throw new Error(`gateway ${gw} does not serve room ${roomId}`);
      await sleep(200);
    }
  }

  // Go.
  const t0 = Date.now();
  await api.call('POST', `/admin/campaigns/${id}/start`, { reason: 'surge simulator' });
  const samples: Sample[] = [];
  let status = 'running';
  let stopReason = 'completed';
  let lastLog = 0;
  let idleSince: number | null = null;
  const states = async () => Promise.all(users.map((u) => u.request<UsersState>({ type: 'state?' }, 'state', 10_000)));
  for (let tick = 0; ; tick++) {
    ctx.signal.throwIfAborted();
    const tickStart = Date.now();
    for (const app of system.apps) {
      if (app.child.process.exitCode !== null || app.child.process.signalCode !== null) {
        throw new Error(`${app.child.name} exited during the run; its last output:\n${app.child.output()}`);
      }
    }
    const [room, c, st] = await Promise.all([
      api.call<Json>('GET', `/admin/rooms/${roomId}/status`, undefined, 5000).catch(() => null),
      api.call<Json>('GET', `/admin/campaigns/${id}`, undefined, 5000).catch(() => null),
      states(),
    ]);
    if (room) {
      samples.push({
        t: (Date.now() - t0) / 1000,
        waiting: Number(room.waiting ?? 0),
        active: Number(room.active ?? 0),
        originSessions: origin.stats().inSession,
        admittedPerMinute: Number(room.admittedPerMinute ?? 0),
      });
    }
    if (c) status = String(c.status);
    const busy = st.reduce((n, s) => n + s.scheduled + s.inProgress, 0);
    const elapsed = (Date.now() - t0) / 1000;
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      const waiting = st.reduce((n, s) => n + s.waiting, 0);
      const sent = (c?.stats as Json | undefined)?.sent ?? '?';
      log(
        `${Math.round(elapsed)} s: campaign ${status} (${sent} sent), forwarded ${receiver.received()}, users busy ${busy} ` +
          `(waiting ${waiting}), queue ${room?.waiting ?? '?'}, origin ${origin.stats().inSession}/${o.capacity}` +
          (c?.activity ? `, ${String((c.activity as Json).message ?? (c.activity as Json).state)}` : ''),
      );
    }
    if (['cancelled', 'failed', 'paused'].includes(status)) {
      stopReason = `campaign ${status}`;
      break;
    }
    if (status === 'completed' && busy === 0) {
      idleSince ??= Date.now();
      // The last forwards may still be on their way to a user process: done when nothing moved for a moment.
      if (Date.now() - idleSince > 2000) break;
    } else idleSince = null;
    if (elapsed > o.timeLimitSeconds) {
      stopReason = `time limit (${o.timeLimitSeconds} s)`;
      break;
    }
    await sleep(Math.max(0, 1000 - (Date.now() - tickStart)));
  }
  const endedAt = Date.now();
  log(`run ended (${stopReason}) after ${((endedAt - t0) / 1000).toFixed(1)} s; collecting`);

  for (const u of users) await u.request({ type: 'stop' }, 'stopped', 10_000).catch(() => undefined);
  const reports = await Promise.all(users.map((u) => u.request<UsersReport>({ type: 'report?' }, 'report', 60_000)));
  const records: UserRecord[] = reports.flatMap((r) => r.records);
  const received = reports.reduce((n, r) => n + r.state.received, 0);
  const timeline = await api.timeline(id);
  const stats = await api.call<Json>('GET', `/admin/campaigns/${id}/stats`);
  const final = await api.call<Json>('GET', `/admin/campaigns/${id}`);
  const measured = outcome(records, received, endedAt, FIFO_TOLERANCE_MS);
  const originStats = origin.stats();
  const seconds = Math.ceil((endedAt - t0) / 1000);
  const at = (iso: unknown) => (Date.parse(String(iso)) - t0) / 1000;
  const waves = ((stats.waves as Json[] | undefined) ?? []).map((w) => ({
    wave: w.wave as number,
    size: w.size as number | null,
    startedAtSeconds: w.started_at ? Math.round(at(w.started_at) * 10) / 10 : null,
    finishedAtSeconds: w.finished_at ? Math.round(at(w.finished_at) * 10) / 10 : null,
    startNote: w.start_note ?? null,
  }));
  const pacingDecisions = timeline
    .filter((e) => e.actor === 'pacing')
    .map((e) => ({
      atSeconds: Math.round(at(e.at) * 10) / 10,
      kind: e.kind as string,
      reason: e.reason as string,
      figures: e.figures as Json,
    }));
  const observedPeakQueue = samples.reduce((m, s) => Math.max(m, s.waiting), 0);
  const forecastPeakQueue = Number(expected.peak_queue);
  const queueSeries = new Array<number>(seconds).fill(0);
  const activeSeries = new Array<number>(seconds).fill(0);
  for (const s of samples) {
    const i = Math.min(seconds - 1, Math.floor(s.t));
    queueSeries[i] = Math.max(queueSeries[i] as number, s.waiting);
    activeSeries[i] = Math.max(activeSeries[i] as number, s.originSessions);
  }
  const sends: number[] = new Array<number>(seconds).fill(0);
  for (const b of receiver.batches) {
    const i = Math.floor((b.sentAt - t0) / 1000);
    if (i >= 0 && i < seconds) sends[i] = (sends[i] as number) + b.messages;
  }
  const admissions = perSecond(
    records.filter((r) => r.admittedAt !== null).map((r) => r.admittedAt as number),
    t0,
    seconds,
  );

  const result: Json = {
    devices: o.devices,
    pacing: o.pacing ? 'on' : 'off',
    capacity: o.capacity,
    peakOriginConcurrency: originStats.peak,
    lost: measured.lost,
    fifoInversions: measured.fifoInversions,
    waitP50: measured.waitP50,
    waitP95: measured.waitP95,
    waitMax: measured.waitMax,
    waitBudget: o.budgetSeconds,
    withinBudget: measured.waitMax <= o.budgetSeconds,
    forecastPeakQueue,
    observedPeakQueue,
    forecastVsObservedPeakQueue: observedPeakQueue > 0 ? Math.round((forecastPeakQueue / observedPeakQueue) * 100) / 100 : null,
    etaRatioP50: measured.etaRatioP50,
    etaRatioP90: measured.etaRatioP90,
    completed: String(final.status) === 'completed',
    seconds: Math.round(((endedAt - t0) / 1000) * 10) / 10,
    stopReason,
    params: {
      devices: o.devices,
      openRate: o.openRate,
      pacing: o.pacing,
      capacity: o.capacity,
      admissionPerMinute: o.admissionPerMinute,
      sessionSeconds: o.sessionSeconds,
      budgetSeconds: o.budgetSeconds,
      openMedianSeconds: o.openMedianSeconds,
      openSigma: o.openSigma,
      openDelayCapSeconds: Math.round(openModel.maxSeconds * 10) / 10,
      waveSize: o.waveSize,
      intervalSeconds: o.intervalSeconds,
      batchSize: o.batchSize,
      sendPerMinute: o.sendPerMinute,
      userProcesses: o.userProcesses,
      wsProcesses: o.wsProcesses,
      gateways: o.gateways,
      scheduler: o.schedulerMode,
      sendConcurrency: o.sendConcurrency,
      seed: o.seed,
      timeLimitSeconds: o.timeLimitSeconds,
    },
    timeScale: {
      note:
        'one simulated second is one real second; the surge is compressed by its parameters: taps arrive seconds after the push ' +
        '(log-normal median and sigma above, cut at the 99.9th percentile), users stay one session, and the room admits ' +
        `at most ${Math.round(steadyPerSecond * 10) / 10} people a second once full (min(rate, capacity / session))`,
      steadyAdmissionsPerSecond: Math.round(steadyPerSecond * 100) / 100,
      budgetQueue: Math.round(o.budgetSeconds * steadyPerSecond),
    },
    users: {
      pushesForwarded: receiver.received(),
      pushesReceivedByUsers: measured.pushesReceived,
      tapped: measured.tapped,
      notTappedByEnd: measured.notTappedByEnd,
      admitted: measured.admitted,
      admittedAtOnce: measured.admittedAtOnce,
      waited: measured.waited,
      admittedVia: measured.admittedVia,
      errors: measured.errors,
      errorKinds: measured.errorKinds,
      positionIncreases: measured.positionIncreases,
      socketDisconnects: measured.socketDisconnects,
      fifoInversionDetails: measured.fifoInversionDetails,
      waitedP50: measured.waitedP50,
      waitedP95: measured.waitedP95,
      etaSamples: measured.etaSamples,
      fifoToleranceMs: FIFO_TOLERANCE_MS,
    },
    origin: originStats,
    campaign: {
      id,
      status: final.status,
      statusReason: final.status_reason ?? null,
      sent: stats.sent,
      targeted: stats.targeted,
      funnel: stats.funnel ?? null,
      waves,
      pacingDecisions,
      timelineEntries: timeline.length,
    },
    forecast: {
      budgetSeconds: forecast.budget_seconds,
      openModel: forecast.open_model,
      room: forecast.room,
      paced: forecast.paced ?? null,
      planned: {
        peakQueue: planned.peak_queue,
        peakActive: planned.peak_active,
        waitP50: planned.wait_p50_seconds,
        waitP95: planned.wait_p95_seconds,
        waitMax: planned.wait_max_seconds,
        withinBudget: planned.within_budget,
        sendingEndsAtSeconds: planned.sending_ends_at_seconds,
        drainedAtSeconds: planned.drained_at_seconds,
      },
      recommendation: {
        feasible: forecast.recommendation.feasible,
        waveSize: forecast.recommendation.wave_size,
        intervalSeconds: forecast.recommendation.interval_seconds,
        reason: forecast.recommendation.reason,
      },
    },
    registration: { devices: o.devices, seconds: Math.round(importSeconds * 10) / 10, inserted: imported.inserted },
    system: system.where,
    series: { queue: queueSeries, originSessions: activeSeries, admissionsPerSecond: admissions, sendsPerSecond: sends },
    samples: samples.map((s) => ({ ...s, t: Math.round(s.t * 10) / 10 })),
    date: new Date().toISOString(),
  };

  const out = path.resolve(o.out);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  const svg = out.replace(/\.json$/, '.svg');
  fs.writeFileSync(
    svg,
    renderChart({
      title: `Surge simulator: ${o.devices.toLocaleString('en-US')} devices, open rate ${o.openRate}, pacing ${o.pacing ? 'on' : 'off'}`,
      subtitle: [
        `capacity ${o.capacity}, ${o.admissionPerMinute}/min, session ${o.sessionSeconds} s, wait budget ${o.budgetSeconds} s, ` +
          `open delay median ${o.openMedianSeconds} s (sigma ${o.openSigma}), waves of ${o.waveSize}, batches of ${o.batchSize}, ` +
          `at most ${o.sendPerMinute}/min`,
        `max wait ${measured.waitMax} s, p95 ${measured.waitP95} s, peak queue ${observedPeakQueue} (forecast ${forecastPeakQueue}), ` +
          `origin peak ${originStats.peak}, lost ${measured.lost}, FIFO inversions ${measured.fifoInversions}, ` +
          `${String(final.status)} in ${result.seconds} s`,
      ],
      queue: queueSeries,
      active: activeSeries,
      admissionsPerSecond: admissions,
      sendsPerSecond: sends,
      capacity: o.capacity,
      budgetQueue: Math.round(o.budgetSeconds * steadyPerSecond),
      waveStarts: waves.filter((w) => w.startedAtSeconds !== null).map((w) => ({ at: w.startedAtSeconds as number, wave: w.wave })),
      decisions: pacingDecisions.map((d) => ({ at: d.atSeconds, kind: d.kind, text: d.reason })),
    }),
  );
  log(`wrote ${path.relative(process.cwd(), out)} and ${path.relative(process.cwd(), svg)}`);
  return result;
}

const SUMMARY = [
  'devices',
  'pacing',
  'capacity',
  'peakOriginConcurrency',
  'lost',
  'fifoInversions',
  'waitP50',
  'waitP95',
  'waitMax',
  'waitBudget',
  'forecastPeakQueue',
  'observedPeakQueue',
  'etaRatioP50',
  'etaRatioP90',
  'completed',
  'seconds',
];

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof OptionError) {
      process.stderr.write(`simulate: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) return;
    log(`${signal}: stopping, then cleaning up`);
    abort.abort(new Error(`interrupted by ${signal}`));
    setTimeout(() => void runCleanups().finally(() => process.exit(130)), 20_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The whole run is bounded: the time limit plus set-up and collection.
  const hardStop = setTimeout(() => onSignal('SIGTERM'), (options.timeLimitSeconds + 600) * 1000);
  hardStop.unref();
  try {
    const result = await run(options);
    process.stdout.write(`${JSON.stringify(Object.fromEntries(SUMMARY.map((k) => [k, result[k]])), null, 2)}\n`);
    return 0;
  } catch (err) {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    return 1;
  } finally {
    await runCleanups();
  }
}

void main().then((code) => process.exit(code));
