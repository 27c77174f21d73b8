/**
 * The gateway benchmark (issue 4): admission decisions per second of the real gateway process next to a bare Node
 * HTTP server measured in the same run, latency, Redis round trips per arrival, and Redis memory per waiting user
 * with a million tickets outstanding. Then, once each: a waiting client's poll (the status route with its ticket)
 * and an admitted client's request (its token through the gate to the origin), with their round trips (issue 12).
 * How to read the numbers: docs/benchmarks.md.
 *
 * The two servers are loaded in alternation, `--rounds` times each, and the medians are reported: on a shared,
 * noisy machine a neighbour's burst then hits one round of one side, not the whole comparison.
 *
 * Options: --duration (seconds per round and server, default 5), --rounds (default 3), --warmup (seconds, default
 * 2), --connections (default 50), --tickets (default 1000000), --cpu-prof=<dir> (a V8 CPU profile of the gateway).
 */
import { randomBytes } from 'node:crypto';
import { AdmissionStore } from '@tidegate/admission';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { RoomConfigStore, type RedisClient } from '@tidegate/redis';
import { appEnv, benchServer, cpuProfileArgs, signingKeyPem, startApp, startListeningServer, waitReady, type RunningApp } from './lib/apps';
import { cpuBetween, cpuReading, type CpuUse } from './lib/cpu';
import { LatencyRecorder, runLoad, type LoadResult } from './lib/load';
import { PipelinedClient } from './lib/pipelined';
import { freePort, sleep, type Child } from './lib/processes';
import { round } from './lib/results';
import { scriptNames } from './lib/scripts';
import { median } from './lib/stats';
import {
  commandDelta,
  createBenchDatabase,
  createBenchRedis,
  redisInfo,
  scanKeys,
  serverCounters,
  type BenchDatabase,
  type BenchRedis,
  type ServerCounters,
} from './lib/services';
import type { BenchContext, BenchOutcome, Benchmark } from './lib/types';

const ROOM_ID = 'bench-room';
/** A room with room to spare, for the admitted requests: one arrival there gets a token. */
const ADMITTED_ROOM_ID = 'bench-admitted';
const MEMORY_ROOM_ID = 'bench-memory';
/** Small, so that after the first arrivals every arrival gets a ticket: the decision a surge is made of. */
const TOTAL_ACTIVE_USERS = 100;
/** The admission-rate bucket holds rpm/6 tokens: 600 lets the first 100 arrivals in at once. */
const NEW_USERS_PER_MINUTE = 600;
/** Seconds without load, with the gateway up, to measure its background Redis traffic (releaser, room refresh). */
const IDLE_SECONDS = 3;
/** The memory measurement gives up (and says so) after this long. */
const MEMORY_DEADLINE_MS = 120_000;
/** Arrivals per Redis pipeline while filling the line. */
const MEMORY_BATCH = 10_000;
const ERROR_BUDGET = 0.01;
/** TICKET_GRACE_SECONDS' default, in ms. */
const GRACE_MS = 60_000;
/**
 * Seen buckets alive at once while every waiting user checks in: a bucket's key expires 3 graces after its last
 * write (AdmissionStore), so the current one and up to three before it exist.
 */
const LIVE_SEEN_BUCKETS = 4;

export const benchmark: Benchmark = {
  describe: 'gateway admission decisions/s vs a bare Node HTTP server, latency, Redis round trips and bytes per waiting user',
  run,
};

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const durationSeconds = ctx.number('duration', 5, 1, 300);
  const rounds = ctx.number('rounds', 3, 1, 20);
  const warmupSeconds = ctx.number('warmup', 2, 0, 60);
  const connections = ctx.number('connections', 50, 1, 1000);
  const tickets = ctx.number('tickets', 1_000_000, 1000, 10_000_000);
  const load = { durationSeconds, connections, signal: ctx.signal };

  const [db, redis] = await Promise.all([createBenchDatabase(ctx), createBenchRedis(ctx)]);
  ctx.log(`database ${db.name}, Redis prefix ${redis.prefix}`);

  // The baseline: a bare node:http server. The gateway: the real process, in front of a bare origin. All in child
  // processes, so autocannon (here) shares no event loop with them.
  const bare = await startBareServer(ctx, 'bare node http', '{"ok":true}');
  const origin = await startBareServer(ctx, 'origin', '{"origin":true}');
  await createRoom(db, redis, ROOM_ID, `http://127.0.0.1:${origin.port}`, ['/bench/*']);
  await createRoom(db, redis, ADMITTED_ROOM_ID, `http://127.0.0.1:${origin.port}`, ['/admitted/*'], { ...ROOM_DEFAULTS });
  const gateway = await startGateway(ctx, db, redis, ctx.options['cpu-prof']);

  const bareUrl = `http://127.0.0.1:${bare.port}/bench/page`;
  const bareCheck = (body: string) => body.includes('"ok":true');
  const gatewayUrl = `${gateway.url}/bench/page`;
  const probe = await fetch(gatewayUrl, { headers: { accept: 'application/json' } }).catch((err: unknown) => {
    throw new Error(`the gateway does not answer (${String(err)}); its last output:\n${gateway.child.output()}`);
  });
  const probeBody = await probe.text();
  if (probe.status !== 200 || !/"inWaitingRoom"|"origin":true/.test(probeBody)) {
    throw new Error(`the gateway does not serve the room: ${probe.status} ${probeBody.slice(0, 200)}`);
  }
  const mix = { waiting: 0, admitted: 0, other: 0 };
  const gatewayCheck = (body: string) => {
    if (body.includes('"inWaitingRoom":true')) mix.waiting++;
    else if (body.includes('"origin":true')) mix.admitted++;
    else {
      mix.other++;
      return false;
    }
    return true;
  };
  // No cookie, no token: every request is a new arrival (one admission script, which also counts the request in the
  // client's throttle window). The first 100 (during the warm-up) are admitted and proxied to the origin; every later
  // one gets a ticket.
  const headers = { accept: 'application/json' };

  if (warmupSeconds > 0) {
    await runLoad({ url: bareUrl, ...load, durationSeconds: warmupSeconds, verifyBody: bareCheck });
    await runLoad({ url: gatewayUrl, ...load, durationSeconds: warmupSeconds, headers, verifyBody: gatewayCheck });
  }
  const warmupMix = { ...mix };
  Object.assign(mix, { waiting: 0, admitted: 0, other: 0 });
  await sleep(500); // requests still in flight when autocannon stopped

  const idle = await sample(gateway.child, redis);
  await sleep(IDLE_SECONDS * 1000);
  ctx.signal.throwIfAborted();
  const idleEnd = await sample(gateway.child, redis);

  const bareLatency = new LatencyRecorder();
  const gatewayLatency = new LatencyRecorder();
  const perRound: Array<{ baseline: number; gateway: number; ratio: number }> = [];
  const baselineRuns: LoadResult[] = [];
  const gatewayRuns: LoadResult[] = [];
  const samples: Array<{ before: Sample; after: Sample }> = [];
  const baselineCpu: CpuUse[] = [];
  const gatewayCpu: CpuUse[] = [];
  for (let r = 1; r <= rounds; r++) {
    ctx.log(`round ${r}/${rounds}: ${durationSeconds} s each, ${connections} connections`);
    const b0 = await cpuReading(redis, { server: bare.child });
    const b = await runLoad({ url: bareUrl, ...load, verifyBody: bareCheck, latencies: bareLatency });
    baselineCpu.push(cpuBetween(b0, await cpuReading(redis, { server: bare.child }), 'loadGenerator'));
    checkErrors('bare node http', b, bare.child);

    const before = await sample(gateway.child, redis);
    const g0 = await cpuReading(redis, { gateway: gateway.child, origin: origin.child });
    const g = await runLoad({ url: gatewayUrl, ...load, headers, verifyBody: gatewayCheck, latencies: gatewayLatency });
    gatewayCpu.push(cpuBetween(g0, await cpuReading(redis, { gateway: gateway.child, origin: origin.child }), 'loadGenerator'));
    samples.push({ before, after: await sample(gateway.child, redis) });
    checkErrors('gateway', g, gateway.child);

    baselineRuns.push(b);
    gatewayRuns.push(g);
    perRound.push({
      baseline: Math.round(b.requestsPerSecond),
      gateway: Math.round(g.requestsPerSecond),
      ratio: round(g.requestsPerSecond / b.requestsPerSecond),
    });
  }

  // A waiting client's poll and an admitted client's request, each with the credentials one arrival got.
  const arrival = await fetch(gatewayUrl, { headers: { accept: 'application/json' } });
  const ticket = ((await arrival.json()) as { ticket?: unknown }).ticket;
  if (typeof ticket !== 'string') throw new Error(`an arrival got no ticket (${arrival.status})`);
  const admission = await fetch(`${gateway.url}/admitted/page`, { headers: { accept: 'application/json' } });
  const token = admission.headers.get('x-tidegate-token');
  if (admission.status !== 200 || !token || !(await admission.text()).includes('"origin":true')) {
    throw new Error(`an arrival in ${ADMITTED_ROOM_ID} was not admitted (${admission.status}, token ${token ? 'set' : 'missing'})`);
  }
  const background = { idle, idleEnd };
  const per = (what: string, url: string, credentials: Record<string, string>, expected: string, script: RegExp) =>
    measureRequests(ctx, {
      what,
      gateway,
      redis,
      load,
      url,
      headers: { accept: 'application/json', ...credentials },
      expected,
      script,
      background,
    });
  const poll = await per(
    'poll',
    `${gateway.url}/rooms/${ROOM_ID}/status`,
    { 'x-tidegate-ticket': ticket },
    '"inWaitingRoom":true',
    /^script:status-\d+$/,
  );
  const admitted = await per(
    'admitted request',
    `${gateway.url}/admitted/page`,
    { 'x-tidegate-token': token },
    '"origin":true',
    /^script:touch-\d+$/,
  );
  await Promise.all([gateway.child.stop(), origin.child.stop(), bare.child.stop()]);

  const trips = roundTrips({ idle, idleEnd, loads: samples }, ctx.root, /^script:arrive-\d+\+?$/, mix.waiting + mix.admitted + mix.other);
  const baselineCores = cores(baselineCpu);
  const gatewayCores = cores(gatewayCpu);
  const { p50Ms, p99Ms, p999Ms } = gatewayLatency.summary();
  const { p50Ms: baselineP50Ms, p99Ms: baselineP99Ms, p999Ms: baselineP999Ms } = bareLatency.summary();
  const sumOf = (runs: LoadResult[], f: (r: LoadResult) => number) => runs.reduce((a, r) => a + f(r), 0);

  // Redis memory per waiting user, in a room of its own (no gateway needed: the real scripts, pipelined).
  const memory = await measureMemory(ctx, redis, tickets);

  const value = median(gatewayRuns.map((g) => g.requestsPerSecond));
  const baseline = median(baselineRuns.map((b) => b.requestsPerSecond));
  return {
    name: 'gateway',
    metric: 'admission decisions/s',
    unit: 'req/s',
    value: Math.round(value),
    baseline: Math.round(baseline),
    ratio: round(value / baseline),
    params: {
      durationSeconds,
      rounds,
      warmupSeconds,
      connections,
      totalActiveUsers: TOTAL_ACTIVE_USERS,
      tickets,
      throttle: 'on (limit 100000000 per 10 s: checked, never refusing)',
    },
    extra: {
      p50Ms: round(p50Ms),
      p99Ms: round(p99Ms),
      baselineP50Ms: round(baselineP50Ms),
      baselineP99Ms: round(baselineP99Ms),
      redisRoundTripsPerArrival: trips.corrected,
      redisRoundTripsPerArrivalRaw: trips.raw,
      redisRoundTripsPerPoll: poll.roundTrips,
      redisRoundTripsPerAdmittedRequest: admitted.roundTrips,
      redisSocketWritesPerArrival: trips.socketWrites,
      redisBytesPerWaitingUser: memory.bytesPerWaitingUser,
      p999Ms: round(p999Ms),
      baselineP999Ms: round(baselineP999Ms),
      errors: sumOf(gatewayRuns, (g) => g.non2xx + g.errors + g.mismatches),
      baselineErrors: sumOf(baselineRuns, (b) => b.non2xx + b.errors + b.mismatches),
      gatewayCpuMicrosecondsPerArrival: cpuPerArrival(gatewayCpu, 'gateway', trips.arrivals),
      poll: poll.summary,
      admittedRequest: admitted.summary,
      arrivals: trips.arrivals,
      arrivalsPerArriveScriptCall: round(trips.arrivals / trips.unitCalls),
      requests: sumOf(gatewayRuns, (g) => g.total),
      rounds: perRound,
      cpuCores: { baseline: baselineCores, gateway: gatewayCores },
      decisions: mix,
      warmupDecisions: warmupMix,
      redisRoundTripsByCommand: trips.byCommand,
      backgroundRoundTripsPerSecond: trips.backgroundPerSecond,
      redisCommandsExecutedPerArrival: trips.server.commandsExecutedPerArrival,
      redisScriptCallsPerArrivalServer: trips.server.scriptCallsPerArrival,
      redisScriptMicrosecondsPerArrival: trips.server.scriptUsecPerArrival,
      memoryBreakdown: memory.breakdown,
      memory: memory.summary,
      environment: { node: process.version, redis: (await redisInfo(redis.client, 'server')).get('redis_version') ?? null },
    },
  };
}

/** Average cores each process kept busy over the given periods (1 = one core all the time). */
function cores(uses: CpuUse[]): Record<string, number | null> {
  const seconds = uses.reduce((a, u) => a + u.seconds, 0);
  const out: Record<string, number | null> = {};
  for (const name of Object.keys(uses[0]?.cpu ?? {})) {
    let used: number | null = 0;
    for (const u of uses) {
      const v = u.cpu[name];
      used = used === null || v === null || v === undefined ? null : used + v;
    }
    out[name] = used === null ? null : round(used / seconds);
  }
  return out;
}

/** CPU time `name` used over the given periods, per arrival, in µs. */
function cpuPerArrival(uses: CpuUse[], name: string, arrivals: number): number | null {
  let used = 0;
  for (const u of uses) {
    const v = u.cpu[name];
    if (v === null || v === undefined) return null;
    used += v;
  }
  return round((used * 1e6) / arrivals);
}

function checkErrors(what: string, result: LoadResult, child: Child): void {
  const bad = result.non2xx + result.errors + result.mismatches;
  const attempts = result.total + result.errors;
  if (attempts === 0 || bad / attempts > ERROR_BUDGET) {
    throw new Error(
      `${what}: ${bad} of ${attempts} requests failed (non-2xx ${result.non2xx}, errors ${result.errors}, unexpected bodies ` +
        `${result.mismatches}; status codes ${JSON.stringify(result.statusCodes)}); last output:\n${child.output()}`,
    );
  }
}

const startBareServer = (ctx: BenchContext, name: string, body: string) =>
  startListeningServer(ctx, { name, script: 'bare-http.js', args: [body] });

/** A room as the admin API creates it: the row in PostgreSQL, then the hot copy in Redis and a version bump. */
async function createRoom(
  db: BenchDatabase,
  redis: BenchRedis,
  id: string,
  originUrl: string,
  paths: string[],
  settings: RoomSettings = { ...ROOM_DEFAULTS, totalActiveUsers: TOTAL_ACTIVE_USERS, newUsersPerMinute: NEW_USERS_PER_MINUTE },
): Promise<RoomSettings> {
  await db.query(
    `INSERT INTO rooms (id, name, origin_url, paths, total_active_users, new_users_per_minute, session_duration_seconds,
       queueing_method, queue_all, suspended, max_wait_seconds, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())`,
    [
      id,
      'Benchmark room',
      originUrl,
      paths,
      settings.totalActiveUsers,
      settings.newUsersPerMinute,
      settings.sessionDurationSeconds,
      settings.queueingMethod,
      settings.queueAll,
      settings.suspended,
      settings.maxWaitSeconds,
    ],
  );
  await new RoomConfigStore(redis.client, redis.keys).write(id, settings);
  return settings;
}

async function startGateway(ctx: BenchContext, db: BenchDatabase, redis: BenchRedis, profileDir?: string): Promise<RunningApp> {
  const gateway = startApp(ctx, {
    app: 'gateway',
    port: await freePort(),
    execArgv: [...cpuProfileArgs(ctx, 'gateway', profileDir), '--require', benchServer('redis-counter.js')],
    env: {
      ...appEnv(db, redis),
      DATABASE_POOL_SIZE: '2',
      TICKET_SECRET: randomBytes(32).toString('hex'),
      WAVE_TICKET_SECRET: randomBytes(32).toString('hex'),
      ADMISSION_SIGNING_KEY: signingKeyPem(),
      // The throttle counts every request (inside the admission script) but never refuses: one client makes all requests.
      THROTTLE_LIMIT: '100000000',
    },
  });
  await waitReady(ctx, gateway, 30_000);
  return gateway;
}

/**
 * One load of `url` on the gateway (one round of `load`): requests/s, latency, the gateway's CPU and its Redis round
 * trips per request, the requests counted by the one script each of them runs (`script`), the background traffic
 * measured while idle subtracted as for the arrivals.
 */
async function measureRequests(
  ctx: BenchContext,
  m: {
    what: string;
    gateway: RunningApp;
    redis: BenchRedis;
    load: { durationSeconds: number; connections: number; signal: AbortSignal };
    url: string;
    headers: Record<string, string>;
    expected: string;
    script: RegExp;
    background: { idle: Sample; idleEnd: Sample };
  },
) {
  ctx.log(`${m.what}: ${m.load.durationSeconds} s, ${m.load.connections} connections`);
  const latencies = new LatencyRecorder();
  const before = await sample(m.gateway.child, m.redis);
  const c0 = await cpuReading(m.redis, { gateway: m.gateway.child });
  const result = await runLoad({ url: m.url, ...m.load, headers: m.headers, verifyBody: (b) => b.includes(m.expected), latencies });
  const cpu = cpuBetween(c0, await cpuReading(m.redis, { gateway: m.gateway.child }), 'loadGenerator');
  const after = await sample(m.gateway.child, m.redis);
  checkErrors(`gateway (${m.what})`, result, m.gateway.child);
  const trips = roundTrips({ ...m.background, loads: [{ before, after }] }, ctx.root, m.script);
  const { p50Ms, p99Ms } = latencies.summary();
  return {
    roundTrips: trips.corrected,
    summary: {
      requestsPerSecond: Math.round(result.requestsPerSecond),
      p50Ms: round(p50Ms),
      p99Ms: round(p99Ms),
      requests: trips.arrivals,
      errors: result.non2xx + result.errors + result.mismatches,
      gatewayCpuMicrosecondsPerRequest: cpuPerArrival([cpu], 'gateway', trips.arrivals),
      redisRoundTripsRaw: trips.raw,
      redisSocketWrites: trips.socketWrites,
      redisRoundTripsByCommand: trips.byCommand,
      redisScriptMicrosecondsPerRequest: trips.server.scriptUsecPerArrival,
    },
  };
}

interface Sample {
  at: number;
  client: Record<string, number>;
  /** Socket writes that carried the client's commands (several commands may share one: see redis-counter.ts). */
  writes: number;
  server: ServerCounters;
}

async function sample(gateway: Child, redis: BenchRedis): Promise<Sample> {
  const [answer, server] = await Promise.all([
    gateway.request<{ counts: Record<string, number>; socketWrites?: number }>({ type: 'redis-counts?' }, 'redis-counts'),
    serverCounters(redis.client),
  ]);
  return { at: Date.now(), client: answer.counts, writes: answer.socketWrites ?? 0, server };
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(after)) {
    const d = n - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * Round trips per arrival, counted in the gateway process (every command its ioredis client sent), so other users
 * of a shared Redis do not count. Raw: all commands during the measured loads / arrivals. Corrected: minus the
 * background rate (releaser, room refresh) measured with the gateway idle, pro rata. Server-side numbers (INFO) are
 * reported beside them: they include commands run inside scripts, and anything else talking to the same Redis.
 */
function roundTrips(
  s: { idle: Sample; idleEnd: Sample; loads: Array<{ before: Sample; after: Sample }> },
  root: string,
  unit: RegExp,
  answered?: number,
) {
  const names = scriptNames(root);
  const rename = (counts: Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const [label, n] of Object.entries(counts)) out[names.get(label) ?? label] = (out[names.get(label) ?? label] ?? 0) + n;
    return out;
  };
  const during: Record<string, number> = {};
  let loadSeconds = 0;
  let loadAll = 0;
  let loadScripts = { calls: 0, usec: 0 };
  let loadWrites = 0;
  const scriptCommands = ['evalsha', 'eval'];
  for (const { before, after } of s.loads) {
    loadWrites += after.writes - before.writes;
    for (const [name, n] of Object.entries(rename(diff(after.client, before.client)))) during[name] = (during[name] ?? 0) + n;
    loadSeconds += (after.at - before.at) / 1000;
    loadAll += after.server.totalCommands - before.server.totalCommands;
    const d = commandDelta(before.server, after.server, scriptCommands);
    loadScripts = { calls: loadScripts.calls + d.calls, usec: loadScripts.usec + d.usec };
  }
  const background = rename(diff(s.idleEnd.client, s.idle.client));
  const idleSeconds = (s.idleEnd.at - s.idle.at) / 1000;
  const backgroundPerSecond = sum(background) / idleSeconds;
  // Every poll runs the status script exactly once, every admitted request the touch script: `unit` names the script
  // that counts the requests. Arrivals share the arrive script: one call per batch of the arrivals that reached the
  // gateway in one event-loop turn (libs/admission arrival-batches.ts), so they are counted by the requests answered
  // (`answered`), and `unitCalls` says how many calls carried them.
  const unitCalls = Object.entries(during).reduce((a, [name, n]) => (unit.test(name) ? a + n : a), 0);
  if (unitCalls === 0) throw new Error(`no ${String(unit)} reached Redis during the load: ${JSON.stringify(during)}`);
  const arrivals = answered ?? unitCalls;
  const total = sum(during);
  const byCommand: Record<string, number> = {};
  for (const [name, n] of Object.entries(during)) {
    const bg = ((background[name] ?? 0) / idleSeconds) * loadSeconds;
    byCommand[name] = Math.round((Math.max(0, n - bg) / arrivals) * 1000) / 1000;
  }

  const rate = (d: number) => d / idleSeconds;
  const idleScripts = commandDelta(s.idle.server, s.idleEnd.server, scriptCommands);
  const idleAll = s.idleEnd.server.totalCommands - s.idle.server.totalCommands;
  const backgroundWritesPerSecond = (s.idleEnd.writes - s.idle.writes) / idleSeconds;
  return {
    arrivals,
    unitCalls,
    raw: round(total / arrivals),
    corrected: round((total - backgroundPerSecond * loadSeconds) / arrivals),
    socketWrites: round((loadWrites - backgroundWritesPerSecond * loadSeconds) / arrivals),
    byCommand,
    backgroundPerSecond: round(backgroundPerSecond),
    server: {
      commandsExecutedPerArrival: round((loadAll - rate(idleAll) * loadSeconds) / arrivals),
      scriptCallsPerArrival: round((loadScripts.calls - rate(idleScripts.calls) * loadSeconds) / arrivals),
      scriptUsecPerArrival: round((loadScripts.usec - rate(idleScripts.usec) * loadSeconds) / arrivals),
    },
  };
}

async function measureMemory(ctx: BenchContext, redis: BenchRedis, tickets: number) {
  const settings: RoomSettings = { ...ROOM_DEFAULTS, totalActiveUsers: TOTAL_ACTIVE_USERS, newUsersPerMinute: NEW_USERS_PER_MINUTE };
  await new RoomConfigStore(redis.client, redis.keys).writeSettings(MEMORY_ROOM_ID, settings);
  const pipelined = new PipelinedClient(redis.client);
  // The gateway's default grace (TICKET_GRACE_SECONDS 60) decides the seen-bucket keys and their expiry. The store's
  // clock (used only to pick the seen bucket) is held still, so every ticket lands in one bucket, as in a surge
  // that arrives within one grace period, instead of depending on whether this run straddles a bucket boundary.
  const now = Date.now();
  const store = new AdmissionStore(pipelined as unknown as RedisClient, redis.keys, { graceMs: GRACE_MS }, () => now);
  const started = Date.now();
  let issued = 0;
  let admitted = 0;
  let arrivals = 0;
  let complete = true;
  ctx.log(`memory: issuing ${tickets.toLocaleString('en-US')} tickets`);
  for (let batch = 0; issued < tickets; batch++) {
    ctx.signal.throwIfAborted();
    if (Date.now() - started > MEMORY_DEADLINE_MS || batch > tickets / MEMORY_BATCH + 10) {
      complete = false;
      ctx.log(`memory: stopped after ${issued} tickets (${MEMORY_DEADLINE_MS} ms bound)`);
      break;
    }
    const n = Math.min(MEMORY_BATCH, tickets - issued);
    const calls = Array.from({ length: n }, () => store.arrive(MEMORY_ROOM_ID));
    await pipelined.flush();
    for (const r of await Promise.all(calls)) {
      arrivals++;
      if (r.kind === 'ticket') issued++;
      else if (r.kind === 'admitted') admitted++;
      else throw new Error(`unexpected arrival result ${r.kind}`);
    }
  }
  const issueSeconds = (Date.now() - started) / 1000;

  // 1% of the line leaves: every 100th ticket, spread over the whole line (exercises the gone bitmap).
  const room = redis.keys.room(MEMORY_ROOM_ID);
  const firstTicket = Number((await redis.client.get(room.tickets)) ?? 0) - issued + 1;
  const leaving: Array<Promise<{ ticketLeft: boolean }>> = [];
  for (let t = firstTicket + 99; t < firstTicket + issued; t += 100) leaving.push(store.leave(MEMORY_ROOM_ID, { ticket: t }));
  await pipelined.flush();
  const left = (await Promise.all(leaving)).filter((r) => r.ticketLeft).length;

  const [lastTicket, serving, gone] = await Promise.all([room.tickets, room.serving, room.goneCount].map((k) => redis.client.get(k)));
  const waiting = Number(lastTicket ?? 0) - Number(serving ?? 0) - Number(gone ?? 0);
  const keys = await scanKeys(redis.client, `${redis.prefix}:{room:${MEMORY_ROOM_ID}}:*`);
  const breakdown: Record<string, number> = {};
  let bytes = 0;
  for (const key of keys) {
    const usage = Number(await redis.client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    const kind = key.slice(`${redis.prefix}:{room:${MEMORY_ROOM_ID}}:`.length).replace(/^seen:\d+$/, 'seen');
    breakdown[kind] = (breakdown[kind] ?? 0) + usage;
    bytes += usage;
  }
  // Measured: one seen bitmap (everybody arrived within one grace period). While people wait and check in, each
  // live bucket holds a bit per ticket number: up to LIVE_SEEN_BUCKETS bitmaps of the same size.
  const steadyBytes = bytes + (LIVE_SEEN_BUCKETS - 1) * (breakdown.seen ?? 0);
  for (const key of keys) await redis.client.del(key);
  ctx.log(`memory: ${bytes} bytes in ${keys.length} keys for ${waiting} waiting users`);
  return {
    bytesPerWaitingUser: round(bytes / waiting),
    breakdown,
    summary: {
      estimatedBytesPerWaitingUserWhileAllCheckIn: round(steadyBytes / waiting),
      complete,
      arrivals,
      admittedDirectly: admitted,
      ticketsIssued: issued,
      left,
      waiting,
      totalBytes: bytes,
      keys: keys.length,
      secondsToIssue: round(issueSeconds),
      // Arrivals, not script calls: since group commit a call carries up to 256 arrivals.
      arrivalsPerSecondPipelined: Math.round(arrivals / issueSeconds),
    },
  };
}
