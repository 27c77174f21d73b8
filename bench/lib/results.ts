/** Writing `bench/results/<name>.json` and printing the short table. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchOutcome, BenchResult } from './types';

/** `<cores> cores, <memory> GiB`: the facts that decide what the numbers can be compared with. */
export function machineFacts(): string {
  const gib = os.totalmem() / 1024 ** 3;
  return `${os.cpus().length} cores, ${gib.toFixed(1)} GiB`;
}

export function toResult(outcome: BenchOutcome, date = new Date()): BenchResult {
  return {
    name: outcome.name,
    metric: outcome.metric,
    unit: outcome.unit,
    value: outcome.value,
    baseline: outcome.baseline,
    ratio: outcome.ratio,
    params: outcome.params,
    extra: outcome.extra,
    machine: machineFacts(),
    date: date.toISOString(),
  };
}

/** Writes the result atomically (a temporary file, then a rename), so a reader never sees half a file. */
export function writeResult(root: string, result: BenchResult): string {
  const dir = path.join(root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${result.name}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
  fs.renameSync(tmp, file);
  return file;
}

/** Rounds for display and for the JSON: 3 significant digits below 100, whole numbers above. */
export function round(n: number): number {
  if (!Number.isFinite(n)) return n;
  if (Math.abs(n) >= 100) return Math.round(n);
  return Number(n.toPrecision(3));
}

function show(value: unknown): string | null {
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : String(round(value));
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return null; // objects are in the JSON only
}

/** The short table: the headline numbers, then every scalar of `params` and `extra`. */
export function formatTable(result: BenchResult): string {
  const rows: Array<[string, string]> = [
    [result.metric, `${show(result.value)} ${result.unit}`],
    ['baseline', `${show(result.baseline)} ${result.unit}`],
    ['ratio (higher is better)', String(round(result.ratio))],
  ];
  for (const [key, value] of Object.entries(result.extra)) {
    const shown = show(value);
    if (shown !== null) rows.push([key, shown]);
  }
  for (const [key, value] of Object.entries(result.params)) {
    const shown = show(value);
    if (shown !== null) rows.push([`param ${key}`, shown]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const title = `${result.name} (${result.machine}, ${result.date})`;
  return [title, '-'.repeat(title.length), ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join('\n');
}
