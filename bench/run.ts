/**
 * Runs benchmarks: `npm run bench -- [name…] [--option=value…]` (all of them without a name). Each prints a short
 * table and writes `bench/results/<name>.json` (format in ../shared/DESIGN.md, "Benchmarks"; how to read the
 * numbers in docs/benchmarks.md). Never part of `npm test`.
 *
 * A benchmark is a module under bench/ exporting `benchmark: Benchmark`; register it in BENCHMARKS below.
 */
import os from 'node:os';
import path from 'node:path';
import { formatTable, round, toResult, writeResult } from './lib/results';
import type { BenchContext, Benchmark } from './lib/types';

/** Loaded on demand, so one benchmark's dependencies do not slow down another. */
const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  gateway: async () => (await import('./gateway.js')).benchmark,
  ws: async () => (await import('./ws.js')).benchmark,
  dispatch: async () => (await import('./dispatch.js')).benchmark,
  'cluster-dispatch': async () => (await import('./cluster-dispatch.js')).benchmark,
  'room-1m': async () => (await import('./room-1m.js')).benchmark,
  soak: async () => (await import('./soak/main.js')).benchmark,
};
/** Run only when named (`npm run soak`): not part of `npm run bench` with no name. */
const ON_DEMAND = new Set(['soak']);

/** How long one clean-up step may take before the runner moves on (a stuck step must not hang the run). */
const CLEANUP_STEP_MS = 15_000;
/** After Ctrl-C, how long a benchmark may take to notice and return before clean-up runs anyway. */
const ABORT_GRACE_MS = 20_000;

const root = path.resolve(__dirname, '..', '..');
const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

function parseArgs(argv: string[]): { names: string[]; options: Record<string, string> } {
  const names: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      names.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) options[arg.slice(2, eq)] = arg.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('--')) options[arg.slice(2)] = argv[++i] as string;
    else options[arg.slice(2)] = 'true';
  }
  return { names, options };
}

function withTimeout(step: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took longer than ${ms} ms`)), ms);
  });
  return Promise.race([step, timeout]).finally(() => clearTimeout(timer));
}

/** Clean-up of the benchmark running now; also run on Ctrl-C. */
let cleanups: Array<() => Promise<void> | void> = [];

async function runCleanups(): Promise<void> {
  const steps = cleanups.reverse();
  cleanups = [];
  for (const step of steps) {
    try {
      await withTimeout(Promise.resolve().then(step), CLEANUP_STEP_MS);
    } catch (err) {
      log(`clean-up step failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

const abort = new AbortController();

function context(options: Record<string, string>): BenchContext {
  return {
    options,
    root,
    signal: abort.signal,
    log,
    defer: (step) => void cleanups.push(step),
    number(name, fallback, min, max) {
      const raw = options[name];
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got ${raw}`);
      return n;
    },
  };
}

async function main(): Promise<number> {
  const { names, options } = parseArgs(process.argv.slice(2));
  if (options.help !== undefined) {
    process.stdout.write('usage: npm run bench -- [name…] [--option=value…]\n\n');
    for (const [name, load] of Object.entries(BENCHMARKS)) process.stdout.write(`  ${name.padEnd(10)} ${(await load()).describe}\n`);
    return 0;
  }
  const unknown = names.filter((n) => !(n in BENCHMARKS));
  if (unknown.length > 0) {
    log(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    return 2;
  }
  // First signal: the running benchmark is aborted and returns through its clean-up. A second signal, or a
  // benchmark that does not return in time, runs the clean-up from here and exits.
  const forceExit = () => void runCleanups().finally(() => process.exit(130));
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      log(`${signal} again: cleaning up now`);
      forceExit();
      return;
    }
    log(`${signal}: stopping, then cleaning up`);
    abort.abort(new Error(`interrupted by ${signal}`));
    setTimeout(forceExit, ABORT_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failed = 0;
  for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS).filter((n) => !ON_DEMAND.has(n))) {
    const benchmark = await (BENCHMARKS[name] as () => Promise<Benchmark>)();
    log(`${name}: ${benchmark.describe}`);
    try {
      const loadBefore = os.loadavg()[0] ?? 0;
      const outcome = await benchmark.run(context(options));
      // Other work on the machine skews every number; say how busy it was (1-minute load average vs cores).
      const machineLoad = { loadAverageBefore: round(loadBefore), loadAverageAfter: round(os.loadavg()[0] ?? 0), cores: os.cpus().length };
      const result = toResult({ ...outcome, extra: { ...outcome.extra, machineLoad } });
      const file = writeResult(root, result);
      process.stdout.write(`\n${formatTable(result)}\n\nwrote ${path.relative(root, file)}\n\n`);
    } catch (err) {
      failed++;
      if (abort.signal.aborted) log(`${name} stopped: ${String((abort.signal.reason as Error | undefined)?.message)}`);
      else log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      await runCleanups();
    }
    if (abort.signal.aborted) return 130;
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    void runCleanups().finally(() => process.exit(1));
  },
);
