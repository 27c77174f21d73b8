/** What every benchmark returns and what the runner hands to it. */

/** The shape of `bench/results/<name>.json` (see ../shared/DESIGN.md, "Benchmarks"). */
export interface BenchResult {
  name: string;
  metric: string;
  unit: string;
  value: number;
  baseline: number;
  /** value / baseline for throughput, baseline / value for latency: higher is always better. */
  ratio: number;
  params: Record<string, unknown>;
  extra: Record<string, unknown>;
  /** `<cores> cores, <memory> GiB` of the machine the numbers were measured on. */
  machine: string;
  /** ISO time the run finished. */
  date: string;
}

/** What a benchmark measures and how it names it; the runner adds machine and date. */
export type BenchOutcome = Omit<BenchResult, 'machine' | 'date'>;

export interface BenchContext {
  /** `--key=value` (or `--key value`) options from the command line, e.g. `duration`, `connections`. */
  options: Readonly<Record<string, string>>;
  /** Repository root (the directory holding package.json). */
  root: string;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: stop loading, then return or throw; clean-up runs either way. */
  signal: AbortSignal;
  /** One progress line on stderr (the table and the JSON are the results). */
  log(message: string): void;
  /**
   * Registers clean-up to run when the benchmark ends, also after a failure or Ctrl-C (last registered runs first).
   * Each step is bounded in time by the runner.
   */
  defer(step: () => Promise<void> | void): void;
  /** Reads a numeric option, or the fallback; refuses values outside [min, max]. */
  number(name: string, fallback: number, min: number, max: number): number;
}

export interface Benchmark {
  /** One line for `npm run bench -- --help`. */
  describe: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}
