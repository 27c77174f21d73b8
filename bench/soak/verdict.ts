/**
 * The soak's verdict from its samples (pure: no I/O, unit-tested in test/unit/soak-verdict.spec.ts).
 *
 * - Heap: the heap used after a full GC, from the first warm sample (the first taken at least `warmSeconds` into the
 *   load: code compiled, pools and caches filled) to the last one under load, may grow by at most the larger of
 *   `heapBoundPercent` of the warm value and `heapBoundMb`. A leak proportional to the traffic shows as a steady
 *   climb; the slope over the warm samples (least squares, MB per minute) is reported beside it.
 * - Sockets: once the load has stopped and its clients are gone, each process's client connections (accepted on its
 *   public port) must be back to the count before the load, and its sockets of any kind to that count plus
 *   `socketSlack` (the PostgreSQL pool opens and closes idle connections on its own).
 * - Redis connections: each process's count (by connection name) must never change.
 */

export type AppKey = 'gateway' | 'ws';
export const APP_KEYS: readonly AppKey[] = ['gateway', 'ws'];

export interface AppSample {
  /** Heap used right after a full GC, MB. */
  heapMb: number;
  rssMb: number;
  /** Open file descriptors, those of them that are sockets, and of those the clients' connections to its public port. */
  fds: number;
  sockets: number;
  clients: number;
  /** Connections to Redis under the app's connection names (CLIENT LIST). */
  redisConnections: number;
  /** Event-loop delay p99 since the previous scrape (prom-client's monitor, reset at each scrape), ms. */
  loopLagP99Ms: number;
  /** ws only: the sockets it holds by its own gauge (tidegate_ws_waiting_sockets, summed over rooms). */
  waitingSockets?: number;
}

export type Phase = 'before' | 'load' | 'after';

export interface Sample {
  /** Seconds since the load started (negative before). */
  t: number;
  phase: Phase;
  /** Simulated users between their tap and their leaving, and those of them waiting in line. */
  inProgress: number;
  waiting: number;
  apps: Record<AppKey, AppSample>;
}

export interface Bounds {
  warmSeconds: number;
  heapBoundPercent: number;
  heapBoundMb: number;
  socketSlack: number;
}

export interface AppVerdict {
  warmHeapMb: number;
  endHeapMb: number;
  growthMb: number;
  growthPercent: number;
  allowedMb: number;
  slopeMbPerMinute: number;
  heapOk: boolean;
  socketsBefore: number;
  socketsPeak: number;
  socketsAfter: number;
  clientsBefore: number;
  clientsPeak: number;
  clientsAfter: number;
  socketsOk: boolean;
  redisConnections: number[];
  redisOk: boolean;
}

export interface Verdict {
  ok: boolean;
  apps: Record<AppKey, AppVerdict>;
  /** One line per failed check, empty when ok. */
  failures: string[];
}

/** Least-squares slope of y over x (per unit of x); 0 with fewer than two distinct x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function judge(samples: Sample[], bounds: Bounds): Verdict {
  const before = samples.filter((s) => s.phase === 'before');
  const load = samples.filter((s) => s.phase === 'load');
  const after = samples.filter((s) => s.phase === 'after');
  const warm = load.filter((s) => s.t >= bounds.warmSeconds);
  if (before.length === 0 || warm.length === 0 || after.length === 0) {
    throw new Error(
      `not enough samples to judge: ${before.length} before, ${warm.length} warm (at ${bounds.warmSeconds} s or later), ${after.length} after`,
    );
  }
  const failures: string[] = [];
  const verdictOf = (app: AppKey): AppVerdict => {
    const first = warm[0] as Sample;
    const last = warm[warm.length - 1] as Sample;
    const warmHeapMb = first.apps[app].heapMb;
    const endHeapMb = last.apps[app].heapMb;
    const growthMb = endHeapMb - warmHeapMb;
    const allowedMb = Math.max((warmHeapMb * bounds.heapBoundPercent) / 100, bounds.heapBoundMb);
    const heapOk = growthMb <= allowedMb;
    if (!heapOk) failures.push(`${app}: heap grew ${growthMb.toFixed(1)} MB (allowed ${allowedMb.toFixed(1)} MB)`);
    const lastBefore = (before[before.length - 1] as Sample).apps[app];
    const lastAfter = (after[after.length - 1] as Sample).apps[app];
    const socketsOk = lastAfter.clients <= lastBefore.clients && lastAfter.sockets <= lastBefore.sockets + bounds.socketSlack;
    if (!socketsOk) {
      failures.push(
        `${app}: ${lastAfter.sockets} sockets (${lastAfter.clients} clients) open after the load, ${lastBefore.sockets} (${lastBefore.clients}) before`,
      );
    }
    const redisConnections = [...new Set(samples.map((s) => s.apps[app].redisConnections))].sort((a, b) => a - b);
    const redisOk = redisConnections.length === 1;
    if (!redisOk) failures.push(`${app}: Redis connections varied: ${redisConnections.join(', ')}`);
    return {
      warmHeapMb,
      endHeapMb,
      growthMb,
      growthPercent: warmHeapMb > 0 ? (growthMb / warmHeapMb) * 100 : 0,
      allowedMb,
      slopeMbPerMinute: slope(warm.map((s) => [s.t / 60, s.apps[app].heapMb])),
      heapOk,
      socketsBefore: lastBefore.sockets,
      socketsPeak: Math.max(...samples.map((s) => s.apps[app].sockets)),
      socketsAfter: lastAfter.sockets,
      clientsBefore: lastBefore.clients,
      clientsPeak: Math.max(...samples.map((s) => s.apps[app].clients)),
      clientsAfter: lastAfter.clients,
      socketsOk,
      redisConnections,
      redisOk,
    };
  };
  const apps = { gateway: verdictOf('gateway'), ws: verdictOf('ws') };
  return { ok: failures.length === 0, apps, failures };
}

/** The table printed as the soak goes: one line per sample. */
export function sampleHeader(): string {
  return `${'t (s)'.padStart(6)} ${'phase'.padEnd(6)} ${'users'.padStart(5)} ${'wait'.padStart(4)} | ${APP_KEYS.map(
    (a) => `${a}: heap MB  rss MB  fds sock clients redis lag99 ms${a === 'ws' ? ' ws-sock' : ''}`,
  ).join(' | ')}`;
}

export function sampleLine(s: Sample): string {
  const app = (k: AppKey) => {
    const a = s.apps[k];
    const cols = [
      a.heapMb.toFixed(1).padStart(k.length + 9),
      a.rssMb.toFixed(0).padStart(7),
      String(a.fds).padStart(4),
      String(a.sockets).padStart(4),
      String(a.clients).padStart(7),
      String(a.redisConnections).padStart(5),
      a.loopLagP99Ms.toFixed(1).padStart(9),
    ];
    if (k === 'ws') cols.push(String(a.waitingSockets ?? '-').padStart(7));
    return cols.join(' ');
  };
  return `${s.t.toFixed(0).padStart(6)} ${s.phase.padEnd(6)} ${String(s.inProgress).padStart(5)} ${String(s.waiting).padStart(4)} | ${APP_KEYS.map(app).join(' | ')}`;
}
