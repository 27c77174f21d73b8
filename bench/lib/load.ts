/** HTTP load with autocannon (in this process; the servers under load run in child processes). */
import autocannon from 'autocannon';

/** Latencies kept for percentiles: every response up to this many, then a uniform sample of this size. */
const RESERVOIR = 1_000_000;

/**
 * Response times of 2xx responses in ms, as autocannon measures them (hrtime from writing the request to the end
 * of the response). autocannon's own histogram keeps whole milliseconds, too coarse for a bare server; this keeps
 * the exact values (reservoir sampling, bounded memory).
 */
export class LatencyRecorder {
  private readonly values = new Float64Array(RESERVOIR);
  private seen = 0;

  record(ms: number): void {
    if (this.seen < RESERVOIR) this.values[this.seen] = ms;
    else {
      const j = Math.floor(Math.random() * (this.seen + 1));
      if (j < RESERVOIR) this.values[j] = ms;
    }
    this.seen++;
  }

  /** Percentiles in ms (NaN when nothing was recorded). */
  summary(): { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number } {
    const sorted = this.values.slice(0, Math.min(this.seen, RESERVOIR)).sort();
    const at = (p: number) =>
      sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN);
    return { p50Ms: at(50), p99Ms: at(99), p999Ms: at(99.9), maxMs: at(100) };
  }
}

export interface LoadOptions {
  url: string;
  durationSeconds: number;
  connections: number;
  headers?: Record<string, string>;
  /** Checks each response body; a false is counted in `mismatches`. */
  verifyBody?: (body: string) => boolean;
  /** Stops the load early (the result covers what ran). */
  signal?: AbortSignal;
  /** Where response times go; pass one recorder to several runs for percentiles over all of them. */
  latencies?: LatencyRecorder;
}

export interface LoadResult {
  /** Responses of any status per second over the run. */
  requestsPerSecond: number;
  /** Responses received. */
  total: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  mismatches: number;
  statusCodes: Record<string, number>;
  /** Latency percentiles of 2xx responses in ms (of every run that shared the recorder, when one was passed). */
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  durationSeconds: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  options.signal?.throwIfAborted();
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    pipelining: 1,
    timeout: 10,
    headers: options.headers,
    verifyBody: options.verifyBody,
  });
  const latencies = options.latencies ?? new LatencyRecorder();
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.record(responseTime);
  });
  // autocannon ends the run itself after `duration`; this is a second bound in case a server hangs.
  const guard = setTimeout(() => instance.stop(), (options.durationSeconds + 30) * 1000);
  const onAbort = () => instance.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await instance;
    options.signal?.throwIfAborted();
    const total = r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];
    return {
      requestsPerSecond: total / r.duration,
      total,
      ok: r['2xx'],
      non2xx: r.non2xx,
      errors: r.errors,
      mismatches: r.mismatches,
      statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count])),
      ...latencies.summary(),
      durationSeconds: r.duration,
    };
  } finally {
    clearTimeout(guard);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
