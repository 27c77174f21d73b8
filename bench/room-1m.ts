/**
 * One room with up to a million people waiting (issue #12): is what each operation costs flat in the length of the
 * line? Each size (default 10k, 100k, 1M waiting) gets a room of its own, filled through the real arrive script
 * (pipelined, AdmissionStore's own code; 1% of the line gone, spread over it). Then, per call:
 *   arrive   arrive-11+ through AdmissionStore.arrive (100 arrivals per batch: one script call, as a gateway sends them)
 *   status   status-11 (a poll: the exact place) for tickets near the front, in the middle and at the back
 *   fanout   one ws tick for a fixed number of sockets spread over the line: AdmissionStore.lineView + positionsOf
 *   leave    leave-8 for waiting tickets anywhere in the line
 *   release  release-16 looking at a fixed number of tickets, with gone and away tickets among them
 * Cost = the redis-server's CPU time per call (INFO cpu, less what the INFO calls themselves cost) and the client's
 * wall time per call; beside them the time inside the commands (commandstats) and the client's CPU. Each operation is
 * measured in rounds that visit every size in turn (a burst of load elsewhere hits all sizes alike); the median
 * round counts. Printed as the ratio of the cost at the largest size to the cost at the smallest (goal: at most 1.5).
 *
 * Runs on a private redis-server (a free loopback port), so commandstats and CPU time are this benchmark's alone. */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { AdmissionStore, GoneMirror } from '@tidegate/admission';
import { ROOM_DEFAULTS, type RoomSettings } from '@tidegate/contracts';
import { closeRedisClient, createRedisClient, RedisKeys, RoomConfigStore, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { positionsOf } from '../apps/ws/src/socket/positions';
import { PipelinedClient } from './lib/pipelined';
import { freePort, waitFor } from './lib/processes';
import { round } from './lib/results';
import { redisCpuSeconds, scanKeys, serverCounters, type ServerCounters } from './lib/services';
import { median } from './lib/stats';
import type { BenchContext, BenchOutcome, Benchmark } from './lib/types';

/** The gateway's default grace (TICKET_GRACE_SECONDS 60): picks the seen and present buckets. */
const GRACE_MS = 60_000;
const FILL_BATCH = 10_000;
const GOAL = 1.5;
/** Each measurement is taken in this many consecutive groups; the median group counts (the machine is shared). */
const ROUNDS = 9;
const OPERATIONS = ['arrive', 'status', 'fanout', 'leave', 'release'] as const;
type Operation = (typeof OPERATIONS)[number];

interface Cost {
  calls: number;
  /** Redis CPU in the measured commands (commandstats usec) per call. */
  redisUsec: number;
  /** The redis-server process's whole CPU time (user + sys) per call: parsing, replies and networking included. */
  redisCpuUsec: number;
  /** Client wall time per call. */
  wallUsec: number;
  /** This process's CPU time per call (the client's share: steadier than wall time on a loaded machine). */
  clientCpuUsec: number;
}

async function startRedis(ctx: BenchContext): Promise<RedisClient> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  child.once('error', (err) => ctx.log(`redis-server: ${err.message} (is redis-server installed?)`));
  ctx.defer(async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  });
  await waitFor(
    () =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    10_000,
    `redis-server on port ${port}`,
    ctx.signal,
  );
  const client = createRedisClient({ url: `redis://127.0.0.1:${port}` }, { name: 'bench-room-1m' });
  ctx.defer(() => closeRedisClient(client));
  await waitUntilReady(client, 10_000);
  return client;
}

/** The Redis CPU that one bracket of INFO calls itself costs (subtracted from every measurement). */
let bracketCpuUsec = 0;

async function bracket(redis: RedisClient): Promise<{ counters: ServerCounters; cpu: number }> {
  const [counters, cpu] = await Promise.all([serverCounters(redis), redisCpuSeconds(redis)]);
  return { counters, cpu };
}

async function calibrate(redis: RedisClient): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < 9; i++) {
    const a = await bracket(redis);
    const b = await bracket(redis);
    samples.push((b.cpu - a.cpu) * 1e6);
  }
  bracketCpuUsec = median(samples);
}

interface Group {
  usec: number;
  cpu: number;
  wall: number;
  clientCpu: number;
}

/**
 * One group of calls (each batch flushed as one pipeline when `pipelined` is given): the Redis time of `commands`
 * (commandstats), the redis-server's CPU time and the client's wall time, per call.
 */
async function measureGroup(
  redis: RedisClient,
  pipelined: PipelinedClient | null,
  commands: string[],
  batches: Array<() => Promise<unknown>>,
  callsPerBatch: number,
): Promise<Group> {
  const before = await bracket(redis);
  const started = process.hrtime.bigint();
  const clientBefore = process.cpuUsage();
  for (const batch of batches) {
    const done = batch();
    if (pipelined) await pipelined.flush();
    await done;
  }
  const wall = Number(process.hrtime.bigint() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const after = await bracket(redis);
  const calls = batches.length * callsPerBatch;
  let usec = 0;
  for (const name of commands) usec += (after.counters.commands.get(name)?.usec ?? 0) - (before.counters.commands.get(name)?.usec ?? 0);
  return {
    usec: usec / calls,
    cpu: Math.max(0, (after.cpu - before.cpu) * 1e6 - bracketCpuUsec) / calls,
    wall: wall / calls,
    clientCpu: (client.user + client.system) / calls,
  };
}

const medianCost = (groups: Group[], callsPerGroup: number): Cost => ({
  calls: groups.length * callsPerGroup,
  redisUsec: median(groups.map((g) => g.usec)),
  redisCpuUsec: median(groups.map((g) => g.cpu)),
  wallUsec: median(groups.map((g) => g.wall)),
  clientCpuUsec: median(groups.map((g) => g.clientCpu)),
});

function settings(queueAll: boolean): RoomSettings {
  // Capacity and rate never limit the releaser here: each release call looks at exactly `--release-scan` tickets.
  return { ...ROOM_DEFAULTS, totalActiveUsers: 1_000_000_000, newUsersPerMinute: 6_000_000_000, queueAll };
}

export const benchmark: Benchmark = {
  describe: 'one room, 10k → 1M waiting: per-call cost of arrive, status, fan-out, leave and release (ratio 1M ÷ 10k)',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const sizes = (ctx.options.sizes ?? '10000,100000,1000000').split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1000 || n > 5_000_000) || sizes.length < 2)
      throw new Error('--sizes must be two or more whole numbers from 1000 to 5000000, e.g. 10000,100000,1000000');
    const sockets = ctx.number('sockets', 5_000, 10, 50_000);
    const calls = ctx.number('calls', 2_700, 900, 100_000);
    const ticks = ctx.number('ticks', 10, 1, 1_000);
    const scan = ctx.number('release-scan', 250, 10, 10_000);
    const releases = ctx.number('releases', 2, 1, 100);
    if (sockets * 2 > sizes[0]!) throw new Error('--sockets must be at most half the smallest size');
    if (scan * releases * (ROUNDS + 1) * 2 > sizes[0]!)
      throw new Error(`--release-scan × --releases × ${ROUNDS + 1} must be at most half the smallest size`);

    const redis = await startRedis(ctx);
    const keys = new RedisKeys('bench');
    const configs = new RoomConfigStore(redis, keys);
    await calibrate(redis);
    // The store's clock picks the seen and present buckets; held still so every ticket lands in the same ones (a
    // surge within one grace period), whatever the run's length. The scripts' own clock is Redis's.
    const now = Date.now();
    const pipelined = new PipelinedClient(redis);
    const batchStore = new AdmissionStore(pipelined as unknown as RedisClient, keys, { graceMs: GRACE_MS }, () => now);
    const releaseStore = new AdmissionStore(redis, keys, { graceMs: GRACE_MS, releaseScanLimit: scan }, () => now);
    const directStore = new AdmissionStore(redis, keys, { graceMs: GRACE_MS }, () => now);
    const num = async (key: string) => Number((await redis.get(key)) ?? 0);
    const random = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
    const perBatch = 100;
    const batchesOf = (n: number, call: (i: number) => Promise<unknown>) =>
      Array.from(
        { length: Math.ceil(n / perBatch) },
        (_, b) => () => Promise.all(Array.from({ length: perBatch }, (_, i) => call(b * perBatch + i))),
      );

    // Every size gets a room of its own (the same history, only the length of the line differs), filled first.
    interface Line {
      size: number;
      id: string;
      room: ReturnType<RedisKeys['room']>;
      serving: number;
      tickets: number;
      waiting: number;
    }
    const lines: Line[] = [];
    for (const size of sizes) {
      ctx.signal.throwIfAborted();
      const id = `bench-1m-${size}`;
      const room = keys.room(id);
      await configs.writeSettings(id, settings(true));
      const state = async () => {
        const [tickets, serving, gone] = await Promise.all([num(room.tickets), num(room.serving), num(room.goneCount)]);
        return { tickets, serving, waiting: tickets - serving - gone };
      };
      // Arrivals until `size` are waiting; 1% of them leave (every hundredth ticket, spread over the line).
      const started = Date.now();
      let now = await state();
      for (let guard = 0; now.waiting < size && guard < size; guard++) {
        ctx.signal.throwIfAborted();
        const n = Math.min(FILL_BATCH, Math.ceil((size - now.waiting) / 0.99));
        const all = Array.from({ length: n }, () => batchStore.arrive(id));
        await pipelined.flush();
        for (const r of await Promise.all(all)) if (r.kind !== 'ticket') throw new Error(`fill: expected a ticket, got ${r.kind}`);
        const leaving = [];
        for (let t = now.tickets + 1; t <= now.tickets + n; t++) if (t % 100 === 0) leaving.push(batchStore.leave(id, { ticket: t }));
        await pipelined.flush();
        await Promise.all(leaving);
        now = await state();
      }
      ctx.log(`${size}: ${now.waiting.toLocaleString('en-US')} waiting, filled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      lines.push({ size, id, room, ...now });
    }

    /**
     * Measures one operation on every line: a warm-up group each, then ROUNDS rounds, each measuring one group per
     * line in turn, in alternating order (so a burst of load elsewhere on the machine hits every size alike); the
     * median group per line.
     */
    const interleaved = async (
      name: string,
      commands: string[],
      pipe: boolean,
      groupOf: (line: Line, round: number) => Array<() => Promise<unknown>>,
      callsPerBatch: number,
    ): Promise<Cost[]> => {
      const groups: Group[][] = lines.map(() => []);
      for (let round = -1; round < ROUNDS; round++) {
        // Every other round visits the sizes in reverse, so no size always runs right after another's work.
        const order = round % 2 === 0 ? [...lines.entries()] : [...lines.entries()].reverse();
        for (const [i, line] of order) {
          ctx.signal.throwIfAborted();
          const batches = groupOf(line, round + 1);
          const g = await measureGroup(redis, pipe ? pipelined : null, commands, batches, callsPerBatch);
          if (round >= 0) groups[i]!.push(g);
        }
      }
      const costs = groups.map((g, i) => medianCost(g, groupOf(lines[i]!, 0).length * callsPerBatch));
      costs.forEach((c, i) =>
        ctx.log(
          `${name} at ${lines[i]!.size}: ${round(c.redisCpuUsec)} µs Redis CPU, ${round(c.redisUsec)} µs in the commands, ${round(c.wallUsec)} µs wall, ${round(c.clientCpuUsec)} µs client CPU per call`,
        ),
      );
      return costs;
    };
    const perRound = Math.max(perBatch, Math.floor(calls / ROUNDS / perBatch) * perBatch);
    const slice = <T>(all: T[], round: number) => all.slice(round * perRound, (round + 1) * perRound);

    // (a) arrivals: joining the back of the line.
    const arrive = await interleaved('arrive', ['evalsha'], true, (l) => batchesOf(perRound, () => batchStore.arrive(l.id)), perBatch);

    // (b) polls: a third near the front, a third in the middle, a third at the back (of the line as filled).
    const polled = lines.map((l) =>
      Array.from({ length: perRound * (ROUNDS + 1) }, (_, i) => {
        const length = l.tickets - l.serving;
        if (i % 3 === 0) return random(l.serving + 1, l.serving + 200);
        if (i % 3 === 1) return random(l.serving + Math.floor(length / 2) - 100, l.serving + Math.floor(length / 2) + 100);
        return random(l.tickets - 200, l.tickets);
      }),
    );
    const status = await interleaved(
      'status',
      ['evalsha'],
      true,
      (l, r) => {
        const mine = slice(polled[lines.indexOf(l)]!, r);
        return batchesOf(perRound, (i) => batchStore.status(l.id, mine[i]!));
      },
      perBatch,
    );
    // What status-9 did before the per-block counts: one BITCOUNT over everything between serving and the ticket.
    const formerCount = await interleaved(
      'former status BITCOUNT',
      ['bitcount'],
      false,
      (l, r) => {
        const mine = slice(polled[lines.indexOf(l)]!, r);
        return batchesOf(perRound, (i) => redis.call('BITCOUNT', l.room.gone, l.serving + 1, Math.max(l.serving + 1, mine[i]! - 1), 'BIT'));
      },
      perBatch,
    );

    // (d) the ws tick for `sockets` sockets spread evenly over the line: lineView, then every socket's place.
    const socketTickets = lines.map((l) =>
      Array.from({ length: sockets }, (_, i) => l.serving + 1 + Math.floor(((i + 0.5) * (l.tickets - l.serving)) / sockets)),
    );
    const placed: number[] = lines.map(() => 0);
    // As the ws app does: a copy of each room's gone bitmap, refreshed per block where the block's gone count changed
    // (the warm-up round fills it; nobody leaves between ticks here, so a measured tick reads the counts only).
    const mirrors = lines.map(() => new GoneMirror());
    const fanout = await interleaved(
      'fan-out tick',
      ['get', 'getrange'],
      false,
      (l) => {
        const i = lines.indexOf(l);
        const mine = socketTickets[i]!;
        return Array.from({ length: ticks }, () => async () => {
          const view = await directStore.lineView(l.id, mine[mine.length - 1]!, mirrors[i]);
          placed[i] = positionsOf(mine, view.serving, view.gone).size;
        });
      },
      1,
    );
    placed.forEach((n, i) => {
      if (n < sockets * 0.98) throw new Error(`fan-out at ${lines[i]!.size} placed ${n} of ${sockets} sockets`);
    });

    // (e) leaving: waiting tickets anywhere in the line.
    const leavers = lines.map((l) => {
      const out = new Set<number>();
      for (let guard = 0; out.size < perRound * (ROUNDS + 1) && guard < calls * 100; guard++) {
        const t = random(l.serving + 1, l.tickets);
        if (t % 100 !== 0) out.add(t);
      }
      return [...out];
    });
    const leave = await interleaved(
      'leave',
      ['evalsha'],
      true,
      (l, r) => {
        const mine = slice(leavers[lines.indexOf(l)]!, r);
        return batchesOf(mine.length, (i) => batchStore.leave(l.id, { ticket: mine[i]! }));
      },
      perBatch,
    );

    // (c) release: of the tickets the next calls look at, every tenth left and every tenth (offset 5) is away; the
    // others are marked seen and present as the ws app marks its sockets (the fill's marks may have expired by now).
    const admitted: number[] = lines.map(() => 0);
    for (const l of lines) {
      const serving = await num(l.room.serving);
      const marks: Array<Promise<unknown>> = [];
      const here: number[] = [];
      for (let t = serving + 1; t <= serving + scan * releases * (ROUNDS + 1) + 1; t++) {
        if (t % 10 === 0) marks.push(batchStore.leave(l.id, { ticket: t }));
        else here.push(t);
      }
      await pipelined.flush();
      await Promise.all(marks);
      await directStore.markSeen(l.id, here);
      const away = here.filter((t) => t % 10 === 5).map((t) => batchStore.away(l.id, t));
      await pipelined.flush();
      await Promise.all(away);
      await configs.writeSettings(l.id, settings(false));
    }
    const release = await interleaved(
      'release',
      ['evalsha'],
      false,
      (l) =>
        Array.from({ length: releases }, () => async () => {
          admitted[lines.indexOf(l)]! += (await releaseStore.release(l.id, 900)).admitted;
        }),
      1,
    );
    if (admitted.some((n) => n === 0)) throw new Error(`release admitted nobody: ${admitted.join(', ')}`);

    const costs: Record<string, Record<Operation, Cost>> = {};
    const extraPerSize: Record<string, unknown> = {};
    for (const [i, l] of lines.entries()) {
      costs[l.size] = { arrive: arrive[i]!, status: status[i]!, fanout: fanout[i]!, leave: leave[i]!, release: release[i]! };
      let roomBytes = 0;
      for (const key of await scanKeys(redis, l.room.everything))
        roomBytes += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      extraPerSize[l.size] = {
        waiting: l.waiting,
        formerStatusBitcountRedisCpuUsec: round(formerCount[i]!.redisCpuUsec),
        formerStatusBitcountCommandUsec: round(formerCount[i]!.redisUsec),
        fanoutBytesPerTick: Math.ceil((socketTickets[i]![sockets - 1]! - l.serving) / 8),
        releaseAdmittedPerCall: round(admitted[i]! / (releases * (ROUNDS + 1))),
        redisBytesPerWaitingUser: round(roomBytes / l.waiting),
        goneBlocksBytes: Number((await redis.call('MEMORY', 'USAGE', l.room.goneBlocks, 'SAMPLES', '0')) ?? 0),
        goneBitmapBytes: Number((await redis.call('MEMORY', 'USAGE', l.room.gone, 'SAMPLES', '0')) ?? 0),
      };
    }

    const small = costs[sizes[0]!]!;
    const large = costs[sizes[sizes.length - 1]!]!;
    // The goal is judged on the redis-server's CPU per call and the client's wall time per call; the time inside the
    // commands (commandstats: elapsed, so a descheduled Redis inflates it) and the client's CPU are reported beside.
    const ratios: Record<string, { redisCpu: number; wall: number; commands: number; clientCpu: number }> = {};
    let worst = 0;
    for (const op of OPERATIONS) {
      const r = {
        redisCpu: round(large[op].redisCpuUsec / small[op].redisCpuUsec),
        wall: round(large[op].wallUsec / small[op].wallUsec),
        commands: round(large[op].redisUsec / small[op].redisUsec),
        clientCpu: round(large[op].clientCpuUsec / small[op].clientCpuUsec),
      };
      ratios[op] = r;
      worst = Math.max(worst, r.redisCpu, r.wall);
    }
    const flat: Record<string, number> = {};
    for (const op of OPERATIONS) {
      flat[`${op}RedisCpuRatio`] = ratios[op]!.redisCpu;
      flat[`${op}WallRatio`] = ratios[op]!.wall;
    }
    const round3 = (c: Cost) => ({
      calls: c.calls,
      redisUsec: round(c.redisUsec),
      redisCpuUsec: round(c.redisCpuUsec),
      wallUsec: round(c.wallUsec),
      clientCpuUsec: round(c.clientCpuUsec),
    });
    return {
      name: 'room-1m',
      metric: `worst per-call cost ratio, ${sizes[sizes.length - 1]} ÷ ${sizes[0]} waiting (Redis CPU or wall per call)`,
      unit: 'x',
      value: round(worst),
      baseline: GOAL,
      ratio: round(GOAL / worst),
      params: { sizes, sockets, calls, ticks, releaseScan: scan, releases, graceMs: GRACE_MS },
      extra: {
        ...flat,
        goalMet: worst <= GOAL,
        ratios,
        costs: Object.fromEntries(
          Object.entries(costs).map(([size, c]) => [size, Object.fromEntries(OPERATIONS.map((op) => [op, round3(c[op])]))]),
        ),
        perSize: extraPerSize,
      },
    };
  },
};
