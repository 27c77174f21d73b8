/**
 * A private 6-node Redis Cluster (3 masters, 3 replicas) on loopback ports for the cluster-dispatch benchmark, the
 * way scripts/lib/redis-cluster.sh starts one for the tests: `redis-server` processes in a temporary folder, joined
 * with `redis-cli --cluster create`, stopped and removed when the benchmark ends. Also each master's counters.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { closeRedisClient, createRedisClient, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { sleep, waitFor } from './lib/processes';
import { redisInfo } from './lib/services';
import type { BenchContext } from './lib/types';

const NODES = 6;

export interface BenchCluster {
  /** host:port of every node (REDIS_CLUSTER_NODES). */
  nodes: string[];
  /** A plain client on each master (INFO commandstats, INFO cpu), by host:port. */
  masters: Map<string, RedisClient>;
}

/** Whether nothing listens on 127.0.0.1:port. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with it and the next five free, and their cluster bus ports (+10000). */
async function freeBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 9000);
    const ports = Array.from({ length: NODES }, (_, i) => base + i);
    if ((await Promise.all(ports.flatMap((p) => [portFree(p), portFree(p + 10000)]))).every(Boolean)) return base;
  }
  throw new Error('no 6 free consecutive ports (and their bus ports) found');
}

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

export async function startBenchCluster(ctx: BenchContext): Promise<BenchCluster> {
  const base = await freeBase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-bench-cluster-'));
  const processes: ChildProcess[] = [];
  ctx.defer(async () => {
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map((p) => (p.exitCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)))));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ports = Array.from({ length: NODES }, (_, i) => base + i);
  for (const port of ports) {
    const nodeDir = path.join(dir, String(port));
    fs.mkdirSync(nodeDir);
    // The same settings as scripts/lib/redis-cluster.sh: no persistence, 5 s node timeout.
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout',
        '5000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        nodeDir,
        '--logfile',
        path.join(nodeDir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    child.once('error', (err) => ctx.log(`redis-server on ${port}: ${err.message} (is redis-server installed?)`));
    processes.push(child);
  }
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  for (const port of ports) {
    await waitFor(
      async () => (await run('redis-cli', ['-p', String(port), 'ping'], 2000).catch(() => '')).includes('PONG'),
      10_000,
      `redis on ${port}`,
      ctx.signal,
    );
  }
  await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '1', '--cluster-yes'], 60_000);
  for (const port of ports) {
    await waitFor(
      async () => (await run('redis-cli', ['-p', String(port), 'cluster', 'info'], 2000)).includes('cluster_state:ok'),
      30_000,
      `cluster state ok on ${port}`,
      ctx.signal,
    );
  }
  // Replicas attach after the slots are assigned: wait until every master has its replica, so roles are final.
  const masters = new Map<string, RedisClient>();
  await waitFor(
    async () => {
      const roles = await Promise.all(ports.map((p) => run('redis-cli', ['-p', String(p), 'role'], 2000)));
      return (
        roles.filter((r) => r.startsWith('master')).length === NODES / 2 && roles.filter((r) => r.startsWith('slave')).length === NODES / 2
      );
    },
    30_000,
    'three masters with a replica each',
    ctx.signal,
  );
  for (const port of ports) {
    if (!(await run('redis-cli', ['-p', String(port), 'role'], 2000)).startsWith('master')) continue;
    const client = createRedisClient({ url: `redis://127.0.0.1:${port}` }, { name: 'bench-master' });
    ctx.defer(() => closeRedisClient(client));
    await waitUntilReady(client, 10_000);
    masters.set(`127.0.0.1:${port}`, client);
  }
  await sleep(200);
  ctx.log(`Redis Cluster: 6 nodes on 127.0.0.1:${base}-${base + NODES - 1}, masters ${[...masters.keys()].join(', ')}`);
  return { nodes, masters };
}

/** Commands a server has executed (those run inside scripts included; INFO itself left out) and its CPU seconds. */
export interface MasterCounters {
  calls: number;
  cpuSeconds: number;
  /** Calls per command (lower-case name). */
  byCommand: Map<string, number>;
}

export async function masterCounters(client: RedisClient): Promise<MasterCounters> {
  const [commandstats, cpu] = await Promise.all([redisInfo(client, 'commandstats'), redisInfo(client, 'cpu')]);
  let calls = 0;
  const byCommand = new Map<string, number>();
  for (const [field, value] of commandstats) {
    if (!field.startsWith('cmdstat_') || field === 'cmdstat_info') continue;
    const n = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
    calls += n;
    byCommand.set(field.slice('cmdstat_'.length), n);
  }
  return { calls, cpuSeconds: Number(cpu.get('used_cpu_user') ?? 0) + Number(cpu.get('used_cpu_sys') ?? 0), byCommand };
}
