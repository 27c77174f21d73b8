/** CPU time of processes the benchmark did not start (PostgreSQL's backends), from /proc. */
import fs from 'node:fs';
import { processCpuSeconds } from './processes';

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
