/**
 * CPU time of what a benchmark measures: this process (the load generator), Redis (INFO), the children it started,
 * and processes it did not start (PostgreSQL's backends), from /proc.
 */
import fs from 'node:fs';
import { processCpuSeconds, type Child } from './processes';
import { redisCpuSeconds, type BenchRedis } from './services';

export interface CpuReading {
  /** performance.now() when read. */
  at: number;
  self: number;
  redis: number;
  postgres: Map<number, number> | null;
  children: Record<string, number | null>;
}

/** CPU seconds used so far by this process, Redis, the given children and (with `postgres`) PostgreSQL. */
export async function cpuReading(
  redis: BenchRedis,
  children: Record<string, Child>,
  options: { postgres?: boolean } = {},
): Promise<CpuReading> {
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    self: (self.user + self.system) / 1e6,
    redis: await redisCpuSeconds(redis.client),
    postgres: options.postgres ? namedProcessesCpu('postgres') : null,
    children: Object.fromEntries(
      Object.entries(children).map(([name, c]) => [name, c.process.pid ? processCpuSeconds(c.process.pid) : null]),
    ),
  };
}

/** CPU seconds each process used between two readings (null where unknown), and the wall time between them. */
export interface CpuUse {
  seconds: number;
  cpu: Record<string, number | null>;
}

/** From two readings: this process under `selfName`, `redis`, `postgres` (when read), and each child by its name. */
export function cpuBetween(a: CpuReading, b: CpuReading, selfName: string): CpuUse {
  const cpu: Record<string, number | null> = { [selfName]: b.self - a.self, redis: b.redis - a.redis };
  const postgres = namedProcessesCpuDelta(a.postgres, b.postgres);
  if (postgres !== null) cpu.postgres = postgres;
  for (const [name, before] of Object.entries(a.children)) {
    const after = b.children[name];
    cpu[name] = before === null || after === null || after === undefined ? null : after - before;
  }
  return { seconds: (b.at - a.at) / 1000, cpu };
}

/** CPU seconds used so far by each process (by pid) whose command name is `name`; null where /proc is unreadable. */
export function namedProcessesCpu(name: string): Map<number, number> | null {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return null;
  }
  const out = new Map<number, number>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let comm: string;
    try {
      comm = fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue; // gone meanwhile
    }
    if (comm !== name) continue;
    const seconds = processCpuSeconds(Number(entry));
    if (seconds !== null) out.set(Number(entry), seconds);
  }
  return out;
}

/**
 * CPU seconds those processes used between two readings: the growth of each one alive at both, plus all of the
 * time of those started in between. A process that exited in between takes its time with it (not counted), so
 * this is a lower bound when processes come and go; long-lived ones (connection pools' backends) count fully.
 */
export function namedProcessesCpuDelta(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (before === null || after === null) return null;
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}
