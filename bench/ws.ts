/**
 * The ws benchmark (issue 5): one real ws process (`node dist/apps/ws/src/main.js`) holding as many waiting sockets
 * as it can (target 20,000), then the line moves and we time how long until every socket has its new position; next
 * to a bare socket.io server broadcasting one event to the same number of sockets from the same client processes,
 * in the same run. Also: Redis commands the ws process issues per tick with every socket connected and nothing
 * changing, and its memory per connected socket. How to read the numbers: docs/benchmarks.md.
 *
 * The line: [R blocks of K tickets that leave, one per round] [K tickets the releaser admits] [one ticket per socket].
 * The tickets in front are nobody's sockets (people who closed the app, or poll the JSON API), so every socket stays
 * connected and every socket's position goes down by K each time.
 *
 * Options: --sockets (target, default 20000), --clients (client processes, 4), --tick (WS_TICK_MS, 500),
 * --position-interval (WS_POSITION_INTERVAL_MS, 100), --leave (K, tickets that leave per round, 1000), --rounds (7),
 * --ramp (seconds to connect, 120), --batch (sockets connecting at once, 500), --idle (seconds of the idle Redis
 * window, 20), --heap-snapshot=<dir> (a V8 heap snapshot of each server with every socket connected),
 * --cpu-prof=<dir> (a V8 CPU profile of the ws process, and of the bare server in <dir>/bare).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AdmissionStore, TicketSigner } from '@tidegate/admission';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { RoomConfigStore, type RedisClient } from '@tidegate/redis';
import { abortable, pause } from './lib/abort';
import {
  appEnv,
  benchServer,
  cpuProfileArgs,
  redisCounts,
  signingKeyPem,
  startApp,
  startListeningServer,
  waitReady,
  type RunningApp,
} from './lib/apps';
import { PipelinedClient } from './lib/pipelined';
import { baseEnv, freePort, processCpuSeconds, startChild, waitFor, type Child } from './lib/processes';
import { round } from './lib/results';
import { scriptNames } from './lib/scripts';
import { median, percentile } from './lib/stats';
import {
  createBenchDatabase,
  createBenchRedis,
  redisInfo,
  serverCounters,
  type BenchDatabase,
  type BenchRedis,
  type ServerCounters,
} from './lib/services';
import type { BenchContext, BenchOutcome, Benchmark } from './lib/types';

const ROOM_ID = 'bench-ws';
/** The bench's own AdmissionStore buckets "seen" by the hour, so tickets issued at the start still count as live. */
const BENCH_GRACE_MS = 3_600_000;
/** Arrivals per Redis pipeline while filling the line. */
const FILL_BATCH = 10_000;
/** File descriptors left to the ws process for what it opens besides sockets (Redis, PostgreSQL, HTTP probes). */
const FD_MARGIN = 32;
/** Samples of a process's memory (one a second); the median counts. */
const MEMORY_SAMPLES = 3;

export const benchmark: Benchmark = {
  describe:
    'live positions: ms until each of 20,000 sockets has its new position vs a bare socket.io broadcast; Redis commands per tick, bytes per socket',
  run,
};

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface Round {
  /** ms from the change to the last socket receiving it: the headline. */
  lastMs: number;
  firstMs: number;
  p50Ms: number;
  p99Ms: number;
  /** lastMs - firstMs: how long the fan-out to every socket took once it started. */
  fanOutMs: number;
  received: number;
  missing: number;
  /** Sockets told a position other than their old one minus the tickets that went (should be 0). */
  wrongPositions: number;
  /** CPU time of the server process from the change until every socket had it. */
  serverCpuMs: number | null;
}

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const targetSockets = ctx.number('sockets', 20_000, 1, 200_000);
  const clientCount = ctx.number('clients', 4, 1, 16);
  const tickMs = ctx.number('tick', 500, 10, 10_000);
  const positionIntervalMs = ctx.number('position-interval', 100, 1, 10_000);
  const leave = ctx.number('leave', 1000, 1, 100_000);
  const rounds = ctx.number('rounds', 7, 1, 20);
  const rampSeconds = ctx.number('ramp', 120, 5, 600);
  const batch = ctx.number('batch', 500, 1, 10_000);
  const idleSeconds = ctx.number('idle', 20, 1, 300);
  const waitMs = Math.max(10_000, 10 * tickMs) + 20_000;

  const [db, redis] = await Promise.all([createBenchDatabase(ctx), createBenchRedis(ctx)]);
  ctx.log(`database ${db.name}, Redis prefix ${redis.prefix}`);
  const secret = randomBytes(32).toString('hex');

  const snapshotDir = ctx.options['heap-snapshot'];
  const ws = await startWs(ctx, db, redis, secret, tickMs, positionIntervalMs, ctx.options['cpu-prof']);
  const pid = ws.child.process.pid as number;
  const fds = fdHeadroom(pid);
  const sockets = fds ? Math.min(targetSockets, fds.headroom) : targetSockets;
  const limitedBy =
    sockets < targetSockets && fds
      ? `the ws process's open-file limit (RLIMIT_NOFILE ${fds.limit}, ${fds.open} already open, ${FD_MARGIN} kept spare): ` +
        'one socket is one file descriptor; raise the hard limit (ulimit -n, LimitNOFILE) to hold more'
      : null;
  if (limitedBy) ctx.log(`holding ${sockets} sockets, not ${targetSockets}: ${limitedBy}`);

  // The line, and a signed ticket per socket.
  const settings: RoomSettings = { ...ROOM_DEFAULTS, totalActiveUsers: 1, newUsersPerMinute: 600 };
  await new RoomConfigStore(redis.client, redis.keys).writeSettings(ROOM_ID, settings);
  const fill = await fillLine(ctx, redis, rounds * leave + leave + sockets);
  const leaveBlocks = Array.from({ length: rounds }, (_, r) => fill.tickets.slice(r * leave, (r + 1) * leave));
  const signer = new TicketSigner(secret);
  // Each ticket signed with the issue time its arrival got from the script, as the gateway signs it (a ticket signed
  // with an earlier time than its line's start is of a lost line: the ws app answers ticket_expired).
  const socketTickets = fill.tickets
    .slice((rounds + 1) * leave)
    .map((number, i) => signer.sign({ roomId: ROOM_ID, number, issuedAt: fill.issuedAt[(rounds + 1) * leave + i] as number }));

  // Client processes: socket i goes to process i mod C; each process connects from its own loopback address.
  const clients = await Promise.all(Array.from({ length: clientCount }, (_, i) => startClients(ctx, i)));
  const shares = clients.map((_, i) => socketTickets.filter((__, j) => j % clientCount === i));

  // Baseline first: a bare socket.io server, the same number of sockets, R broadcasts.
  const bare = await startBare(ctx, ctx.options['cpu-prof']);
  const bareBefore = await memory(ctx, bare.child);
  const bareRamp = await ramp(
    ctx,
    clients,
    'bare',
    bare.url,
    shares.map((s) => ({ count: s.length })),
    batch,
    rampSeconds,
  );
  if (bareRamp.connected < sockets) ctx.log(`baseline: ${bareRamp.connected} of ${sockets} sockets connected`);
  const bareAfter = await memory(ctx, bare.child);
  if (snapshotDir) await heapSnapshot(ctx, bare.child, snapshotDir, 'bare');
  const bareIdleCpuCores = await idleCpu(ctx, bare.child, Math.min(idleSeconds, 10));
  const baselineRounds: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    await pause(500, ctx.signal);
    const position = 1_000_000 - r;
    baselineRounds.push(
      await measureRound(ctx, clients, 'bare', bare.child, waitMs, async () => {
        const { at } = await bare.child.request<{ at: number }>({ type: 'emit', position }, 'emitted');
        return at;
      }),
    );
    ctx.log(`baseline round ${r + 1}/${rounds}: ${describeRound(baselineRounds.at(-1) as Round)}`);
  }
  await Promise.all(clients.map((c) => c.request({ type: 'close', target: 'bare' }, 'closed', 30_000)));
  await bare.child.stop();

  // The ws app: memory with no socket, then the ramp.
  const wsBefore = await memory(ctx, ws.child);
  const wsRamp = await ramp(
    ctx,
    clients,
    'ws',
    ws.url,
    shares.map((s) => ({ count: s.length, auths: s.map((ticket) => ({ ticket, room: ROOM_ID })) })),
    batch,
    rampSeconds,
  );
  ctx.log(`ws: ${wsRamp.connected} of ${sockets} sockets connected in ${round(wsRamp.seconds)} s`);
  if (wsRamp.connected === 0)
    throw new Error(`no socket connected to the ws app: ${JSON.stringify(wsRamp.failures)}\n${ws.child.output()}`);
  // Each socket is told its place on connecting; wait until every one has it.
  await waitFor(
    async () => {
      const s = await clientState(clients, 'ws');
      return s.withPosition >= s.connected;
    },
    30_000,
    'every socket to have its first position',
    ctx.signal,
  );
  await pause(2000, ctx.signal);
  const wsAfter = await memory(ctx, ws.child);
  if (snapshotDir) await heapSnapshot(ctx, ws.child, snapshotDir, 'ws');
  const serverSocketsGauge = await waitingSocketsGauge(ws.metricsUrl);

  // Redis traffic with every socket connected and nothing changing (nothing else in this benchmark touches Redis).
  const idle = await idleWindow(ctx, ws.child, redis, idleSeconds, tickMs);
  ctx.log(`idle: ${idle.perTick} Redis commands per tick over ${idle.ticks} ticks`);

  // The line moves: K tickets in front leave (the leave script, one atomic batch), R times.
  const pipelined = new PipelinedClient(redis.client);
  const leaver = new AdmissionStore(pipelined as unknown as RedisClient, redis.keys, { graceMs: BENCH_GRACE_MS });
  const leaveRoundTrips: number[] = [];
  const wsRounds: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    // Away from the last update, at a random point of the ws tick.
    await pause(1000 + Math.random() * tickMs, ctx.signal);
    wsRounds.push(
      await measureRound(
        ctx,
        clients,
        'ws',
        ws.child,
        waitMs,
        async () => {
          const calls = (leaveBlocks[r] as number[]).map((ticket) => leaver.leave(ROOM_ID, { ticket }));
          const sent = Date.now();
          const t0 = (await pipelined.flush({ atomic: true })) as number;
          leaveRoundTrips.push(Date.now() - sent);
          const left = (await Promise.all(calls)).filter((x) => x.ticketLeft).length;
          if (left !== leave) throw new Error(`only ${left} of ${leave} tickets left the line`);
          return t0;
        },
        leave,
      ),
    );
    ctx.log(`ws round ${r + 1}/${rounds} (${leave} left): ${describeRound(wsRounds.at(-1) as Round)}`);
  }

  // And once the real releaser's way: capacity frees up for K more, one release step admits the K in front.
  await pause(1000 + Math.random() * tickMs, ctx.signal);
  const serving = await measureRound(ctx, clients, 'ws', ws.child, waitMs, () => releaseBlock(redis, settings, leave), leave);
  ctx.log(`ws serving advance (${leave} admitted): ${describeRound(serving)}`);

  const finalState = await clientState(clients, 'ws');
  const serverSocketsAtEnd = await waitingSocketsGauge(ws.metricsUrl);
  await Promise.all(clients.map((c) => c.request({ type: 'close', target: 'ws' }, 'closed', 30_000)));
  await Promise.all([ws.child.stop(), ...clients.map((c) => c.stop())]);

  const held = wsRamp.connected;
  const shortBy =
    held < sockets
      ? `only ${held} of ${sockets} connected${wsRamp.timedOut ? ` within the ${rampSeconds} s ramp` : ''}` +
        (wsRamp.failed > 0 ? ` (failures: ${JSON.stringify(wsRamp.failures)})` : '')
      : null;
  const value = median(wsRounds.map((r) => r.lastMs));
  const baseline = median(baselineRounds.map((r) => r.lastMs));
  const perSocket = (after: number, before: number, n: number) => (n > 0 ? Math.round((after - before) / n) : null);
  const summarize = (rs: Round[], f: (r: Round) => number) => round(median(rs.map(f)));
  return {
    name: 'ws',
    metric: 'ms until every socket has its new position',
    unit: 'ms',
    value: round(value),
    baseline: round(baseline),
    ratio: round(baseline / value),
    params: {
      sockets: held,
      targetSockets,
      tickMs,
      positionIntervalMs,
      clientProcesses: clientCount,
      ticketsGone: leave,
      rounds,
      rampSeconds,
      batch,
      idleSeconds,
    },
    extra: {
      redisCommandsPerTick: idle.perTick,
      redisCommandsPerRoomPerTick: idle.perTick,
      redisCommandsPerSocketPerTick: held > 0 ? round(idle.perTick / held) : null,
      bytesPerSocket: perSocket(wsAfter.rss, wsBefore.rss, held),
      heapBytesPerSocket: perSocket(wsAfter.heapUsed, wsBefore.heapUsed, held),
      baselineBytesPerSocket: perSocket(bareAfter.rss, bareBefore.rss, bareRamp.connected),
      baselineHeapBytesPerSocket: perSocket(bareAfter.heapUsed, bareBefore.heapUsed, bareRamp.connected),
      baselineSockets: bareRamp.connected,
      connectSeconds: round(wsRamp.seconds),
      baselineConnectSeconds: round(bareRamp.seconds),
      socketsLimitedBy: [limitedBy, shortBy].filter((x) => x !== null).join('; ') || null,
      firstSocketMs: summarize(wsRounds, (r) => r.firstMs),
      fanOutMs: summarize(wsRounds, (r) => r.fanOutMs),
      baselineFanOutMs: summarize(baselineRounds, (r) => r.fanOutMs),
      p50Ms: summarize(wsRounds, (r) => r.p50Ms),
      p99Ms: summarize(wsRounds, (r) => r.p99Ms),
      baselineP50Ms: summarize(baselineRounds, (r) => r.p50Ms),
      baselineP99Ms: summarize(baselineRounds, (r) => r.p99Ms),
      servingAdvanceMs: round(serving.lastMs),
      wrongPositions: [...wsRounds, serving].reduce((a, r) => a + r.wrongPositions, 0),
      socketsLost: finalState.lost,
      wsCpuMsPerUpdate: summarize(wsRounds, (r) => r.serverCpuMs ?? NaN),
      baselineCpuMsPerBroadcast: summarize(baselineRounds, (r) => r.serverCpuMs ?? NaN),
      wsIdleCpuCores: idle.cpuCores,
      baselineIdleCpuCores: bareIdleCpuCores,
      redisTicksInIdleWindow: idle.ticks,
      redisCommandsByCommandPerTick: idle.byCommand,
      redisCommandsPerTickServer: idle.serverPerTick,
      leaveBatchRoundTripMs: round(median(leaveRoundTrips)),
      connect: {
        ws: { ...wsRamp, seconds: round(wsRamp.seconds) },
        baseline: { ...bareRamp, seconds: round(bareRamp.seconds) },
        serverSocketsGauge,
        fileDescriptors: fds,
      },
      atEnd: { ...finalState, serverSocketsGauge: serverSocketsAtEnd },
      rounds: wsRounds.map(roundForJson),
      baselineRounds: baselineRounds.map(roundForJson),
      servingAdvance: roundForJson(serving),
      memory: { ws: { before: wsBefore, after: wsAfter }, baseline: { before: bareBefore, after: bareAfter } },
      fill: { tickets: fill.tickets.length, seconds: round(fill.seconds) },
      environment: { node: process.version, redis: (await redisInfo(redis.client, 'server')).get('redis_version') ?? null },
    },
  };
}

const describeRound = (r: Round) =>
  `every socket after ${round(r.lastMs)} ms (first ${round(r.firstMs)}, p50 ${round(r.p50Ms)}, fan-out ${round(r.fanOutMs)} ms; ` +
  `${r.received} received${r.missing > 0 ? `, ${r.missing} missing` : ''}${r.wrongPositions > 0 ? `, ${r.wrongPositions} WRONG positions` : ''})`;

const roundForJson = (r: Round) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v]));

/** The ws app as deployed (NODE_ENV=production), with a memory probe and a Redis command counter preloaded. */
async function startWs(
  ctx: BenchContext,
  db: BenchDatabase,
  redis: BenchRedis,
  secret: string,
  tickMs: number,
  positionIntervalMs: number,
  profileDir: string | undefined,
): Promise<RunningApp> {
  const ws = startApp(ctx, {
    app: 'ws',
    port: await freePort(),
    internalPort: await freePort(),
    execArgv: [
      ...cpuProfileArgs(ctx, 'ws', profileDir),
      '--expose-gc',
      '--require',
      benchServer('memory-probe.js'),
      '--require',
      benchServer('redis-counter.js'),
    ],
    env: {
      ...appEnv(db, redis),
      DATABASE_POOL_SIZE: '2',
      TICKET_SECRET: secret,
      ADMISSION_SIGNING_KEY: signingKeyPem(),
      WS_TICK_MS: String(tickMs),
      WS_POSITION_INTERVAL_MS: String(positionIntervalMs),
    },
  });
  await waitReady(ctx, ws, 30_000);
  return ws;
}

const startBare = (ctx: BenchContext, profileDir: string | undefined) =>
  startListeningServer(ctx, {
    name: 'bare socket.io',
    script: 'bare-socketio.js',
    execArgv: [...cpuProfileArgs(ctx, 'bare socket.io', profileDir && path.join(profileDir, 'bare')), '--expose-gc'],
  });

async function startClients(ctx: BenchContext, index: number): Promise<Child> {
  const child = startChild(ctx, {
    name: `clients ${index + 1}`,
    script: benchServer('ws-clients.js'),
    env: baseEnv(),
  });
  await child.request(undefined, 'ready', 10_000);
  return child;
}

/** How many more file descriptors the process may open (its RLIMIT_NOFILE minus those open, minus a margin). */
function fdHeadroom(pid: number): { limit: number; open: number; headroom: number } | null {
  try {
    const limits = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!m || m[1] === 'unlimited') return null;
    const limit = Number(m[1]);
    const open = fs.readdirSync(`/proc/${pid}/fd`).length;
    return { limit, open, headroom: Math.max(0, limit - open - FD_MARGIN) };
  } catch {
    return null;
  }
}

/**
 * `count` tickets through the real arrive script (pipelined), in ticket order. The room lets one user in
 * (total_active_users 1), so the first arrival is admitted and every later one gets a ticket.
 */
async function fillLine(
  ctx: BenchContext,
  redis: BenchRedis,
  count: number,
): Promise<{ tickets: number[]; issuedAt: number[]; seconds: number }> {
  const pipelined = new PipelinedClient(redis.client);
  const store = new AdmissionStore(pipelined as unknown as RedisClient, redis.keys, { graceMs: BENCH_GRACE_MS });
  const started = Date.now();
  const tickets: number[] = [];
  const issuedAt: number[] = [];
  for (let batch = 0; tickets.length < count; batch++) {
    ctx.signal.throwIfAborted();
    if (batch > count / FILL_BATCH + 10 || Date.now() - started > 120_000)
      throw new Error(`filling the line stopped at ${tickets.length} tickets`);
    const calls = Array.from({ length: Math.min(FILL_BATCH, count - tickets.length) }, () => store.arrive(ROOM_ID));
    await pipelined.flush();
    for (const r of await Promise.all(calls)) {
      if (r.kind === 'ticket') {
        tickets.push(r.ticket);
        issuedAt.push(r.issuedAt);
      } else if (r.kind !== 'admitted') throw new Error(`unexpected arrival result ${r.kind}`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  ctx.log(`line: ${tickets.length} tickets in ${round(seconds)} s`);
  return { tickets, issuedAt, seconds };
}

interface RampResult {
  connected: number;
  failed: number;
  failures: Record<string, number>;
  timedOut: boolean;
  seconds: number;
}

/** Connects every client process's share, `batch` sockets at a time over all of them, within `rampSeconds`. */
async function ramp(
  ctx: BenchContext,
  clients: Child[],
  target: string,
  url: string,
  shares: Array<{ count: number; auths?: Array<Record<string, string>> }>,
  batch: number,
  rampSeconds: number,
): Promise<RampResult> {
  ctx.signal.throwIfAborted();
  const progress = clients.map(() => ({ connected: 0, failed: 0 }));
  const listeners = clients.map((c, i) => {
    const listener = (m: { type?: string; target?: string; connected?: number; failed?: number }) => {
      if (m.type === 'progress' && m.target === target) progress[i] = { connected: m.connected ?? 0, failed: m.failed ?? 0 };
    };
    c.process.on('message', listener);
    return listener;
  });
  const total = shares.reduce((a, s) => a + s.count, 0);
  const started = Date.now();
  const ticker = setInterval(() => {
    const connected = progress.reduce((a, p) => a + p.connected, 0);
    const failed = progress.reduce((a, p) => a + p.failed, 0);
    ctx.log(
      `${target}: ${connected} of ${total} sockets connected${failed > 0 ? `, ${failed} failed` : ''} (${Math.round((Date.now() - started) / 1000)} s)`,
    );
  }, 5000);
  try {
    const perClient = Math.max(1, Math.ceil(batch / clients.length));
    const replies = await abortable(
      Promise.all(
        clients.map((c, i) =>
          c.request<RampResult>(
            {
              type: 'connect',
              target,
              url,
              auths: shares[i]?.auths,
              count: shares[i]?.count ?? 0,
              batch: perClient,
              deadlineMs: rampSeconds * 1000,
              localAddress: `127.0.0.${i + 1}`,
            },
            'connected',
            rampSeconds * 1000 + 60_000,
          ),
        ),
      ),
      ctx.signal,
    );
    const failures: Record<string, number> = {};
    for (const r of replies) for (const [reason, n] of Object.entries(r.failures)) failures[reason] = (failures[reason] ?? 0) + n;
    return {
      connected: replies.reduce((a, r) => a + r.connected, 0),
      failed: replies.reduce((a, r) => a + r.failed, 0),
      failures,
      timedOut: replies.some((r) => r.timedOut),
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    clearInterval(ticker);
    clients.forEach((c, i) => c.process.off('message', listeners[i] as (m: unknown) => void));
  }
}

async function clientState(clients: Child[], target: string) {
  const states = await Promise.all(
    clients.map((c) =>
      c.request<{ connected: number; withPosition: number; lost: number; admitted: number; expired: number }>(
        { type: 'state?', target },
        'state',
      ),
    ),
  );
  const sum = (f: (s: (typeof states)[number]) => number) => states.reduce((a, s) => a + f(s), 0);
  return {
    connected: sum((s) => s.connected),
    withPosition: sum((s) => s.withPosition),
    lost: sum((s) => s.lost),
    admitted: sum((s) => s.admitted),
    expired: sum((s) => s.expired),
  };
}

/**
 * One update: every client process remembers each socket's position, `change` makes the line move (or the bare
 * server broadcast) and returns the instant it happened (Redis's TIME at the end of the transaction that changed
 * the line; the bare server's clock just before `io.emit`); then we wait for every connected socket to get a lower
 * position. All times are this machine's wall clock (CLOCK_REALTIME, as Date.now() and Redis TIME read it).
 */
async function measureRound(
  ctx: BenchContext,
  clients: Child[],
  target: string,
  server: Child,
  waitMs: number,
  change: () => Promise<number>,
  drop?: number,
): Promise<Round> {
  ctx.signal.throwIfAborted();
  await Promise.all(clients.map((c) => c.request({ type: 'arm', target, drop }, 'armed')));
  const pid = server.process.pid as number;
  const cpu0 = processCpuSeconds(pid);
  const t0 = await change();
  const replies = await abortable(
    Promise.all(
      clients.map((c) =>
        c.request<{ times: number[]; missing: number; wrong: number }>(
          { type: 'wait', target, timeoutMs: waitMs },
          'received',
          waitMs + 10_000,
        ),
      ),
    ),
    ctx.signal,
  );
  const cpu1 = processCpuSeconds(pid);
  const latencies = replies.flatMap((r) => r.times.map((t) => t - t0)).sort((a, b) => a - b);
  const missing = replies.reduce((a, r) => a + r.missing, 0);
  if (latencies.length === 0) throw new Error(`no socket of ${target} received the update within ${waitMs} ms`);
  const first = latencies[0] as number;
  const last = latencies.at(-1) as number;
  return {
    lastMs: last,
    firstMs: first,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    fanOutMs: last - first,
    received: latencies.length,
    missing,
    wrongPositions: replies.reduce((a, r) => a + r.wrong, 0),
    serverCpuMs: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) * 1000,
  };
}

/** The ws app's releaser step, run from here: room for K more, a fresh rate bucket of K, one release call. */
async function releaseBlock(redis: BenchRedis, settings: RoomSettings, k: number): Promise<number> {
  const room = redis.keys.room(ROOM_ID);
  const active = await redis.client.zcount(room.sessions, Date.now(), '+inf');
  // The bucket holds rpm / 6 tokens: exactly K, so one step admits exactly K whatever the capacity left.
  await new RoomConfigStore(redis.client, redis.keys).writeSettings(ROOM_ID, {
    ...settings,
    totalActiveUsers: active + k,
    newUsersPerMinute: 6 * k,
  });
  await redis.client.del(room.rate);
  const pipelined = new PipelinedClient(redis.client);
  const store = new AdmissionStore(pipelined as unknown as RedisClient, redis.keys, { graceMs: BENCH_GRACE_MS });
  const releasing = store.release(ROOM_ID, settings.maxWaitSeconds);
  const t0 = (await pipelined.flush({ atomic: true })) as number;
  const result = await releasing;
  if (result.admitted !== k) throw new Error(`the release step admitted ${result.admitted}, not ${k} (skipped ${result.skipped})`);
  return t0;
}

/** A V8 heap snapshot of a server (memory probe or bare server), written to `<dir>/<name>-<time>.heapsnapshot`. */
async function heapSnapshot(ctx: BenchContext, child: Child, dir: string, name: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.resolve(dir, `${name}-${Date.now()}.heapsnapshot`);
  const reply = await child.request<{ path: string }>({ type: 'heap-snapshot?', path: file }, 'heap-snapshot', 120_000);
  ctx.log(`${name}: heap snapshot ${reply.path}`);
}

/** Median memory of a child (process.memoryUsage() after a full GC) over a few samples a second apart. */
async function memory(ctx: BenchContext, child: Child): Promise<Memory> {
  const samples: Memory[] = [];
  for (let i = 0; i < MEMORY_SAMPLES; i++) {
    if (i > 0) await pause(1000, ctx.signal);
    const reply = await child.request<{ memory: Memory | null; error?: string }>({ type: 'memory?' }, 'memory', 30_000);
    if (!reply.memory) throw new Error(`${child.name}: cannot read its memory use: ${reply.error}`);
    samples.push(reply.memory);
  }
  const m = (f: (s: Memory) => number) => median(samples.map(f));
  return { rss: m((s) => s.rss), heapUsed: m((s) => s.heapUsed), external: m((s) => s.external), arrayBuffers: m((s) => s.arrayBuffers) };
}

/** `tidegate_ws_waiting_sockets` from the ws app's /metrics (its internal port): the sockets it holds, by its own count. */
async function waitingSocketsGauge(url: string | undefined): Promise<number | null> {
  if (url === undefined) return null;
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = new RegExp(`^tidegate_ws_waiting_sockets\\{[^}]*room="${ROOM_ID}"[^}]*\\} (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Redis commands while every socket is connected and nothing changes: counted inside the ws process (every command
 * its ioredis clients sent; bench/servers/redis-counter.ts) and, beside it, on the Redis side (INFO commandstats,
 * which also counts anyone else using this Redis). Ticks are counted by their GETRANGE (one per room and tick).
 */
async function idleWindow(ctx: BenchContext, ws: Child, redis: BenchRedis, seconds: number, tickMs: number) {
  const counts = () => redisCounts(ws);
  const pid = ws.process.pid as number;
  const c0 = await counts();
  const s0 = await serverCounters(redis.client);
  const cpu0 = processCpuSeconds(pid);
  const started = Date.now();
  await pause(seconds * 1000, ctx.signal);
  const cpu1 = processCpuSeconds(pid);
  const s1 = await serverCounters(redis.client);
  const c1 = await counts();
  const elapsed = (Date.now() - started) / 1000;

  const names = scriptNames(ctx.root);
  const byCommand: Record<string, number> = {};
  for (const [label, n] of Object.entries(c1)) {
    const d = n - (c0[label] ?? 0);
    const name = names.get(label) ?? label.toLowerCase();
    if (d > 0) byCommand[name] = (byCommand[name] ?? 0) + d;
  }
  const total = Object.values(byCommand).reduce((a, b) => a + b, 0);
  const ticks = byCommand.getrange ?? Math.round((elapsed * 1000) / tickMs);
  return {
    ticks,
    perTick: ticks > 0 ? round(total / ticks) : NaN,
    byCommand: Object.fromEntries(Object.entries(byCommand).map(([k, n]) => [k, round(n / Math.max(1, ticks))])),
    serverPerTick: ticks > 0 ? round(serverCommands(s0, s1) / ticks) : NaN,
    cpuCores: cpu0 === null || cpu1 === null ? null : round((cpu1 - cpu0) / elapsed),
  };
}

/** Cores a child kept busy over `seconds` of doing nothing asked of it (timers, socket.io pings). */
async function idleCpu(ctx: BenchContext, child: Child, seconds: number): Promise<number | null> {
  const pid = child.process.pid as number;
  const cpu0 = processCpuSeconds(pid);
  const started = Date.now();
  await pause(seconds * 1000, ctx.signal);
  const cpu1 = processCpuSeconds(pid);
  return cpu0 === null || cpu1 === null ? null : round((cpu1 - cpu0) / ((Date.now() - started) / 1000));
}

/** Commands Redis ran between two samples, without our own INFO calls. */
function serverCommands(before: ServerCounters, after: ServerCounters): number {
  let calls = 0;
  for (const [name, current] of after.commands) {
    if (name === 'info') continue;
    calls += current.calls - (before.commands.get(name)?.calls ?? 0);
  }
  return calls;
}
