/**
 * One sample of an app process under soak: heap after a full GC (the memory probe, over IPC), open file descriptors,
 * sockets and client connections (/proc/<pid>/fd and net/tcp), its Redis connections (CLIENT LIST of the private Redis, by connection name), and from
 * its internal /metrics the event-loop delay p99 and, for the ws app, the sockets it holds by its own count.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { RedisClient } from '@tidegate/redis';
import type { RunningApp } from '../lib/apps';
import type { AppKey, AppSample } from './verdict';

const MB = 1024 * 1024;

interface Memory {
  heapUsed: number;
  rss: number;
}

interface TcpSocket {
  localPort: number;
  remotePort: number;
  /** /proc/net/tcp's state: 1 established, 10 listening, … */
  state: number;
}

/** Every TCP socket of the network namespace by inode (/proc/<pid>/net/tcp and tcp6). */
function tcpSockets(pid: number): Map<string, TcpSocket> {
  const byInode = new Map<string, TcpSocket>();
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (address: string) => parseInt(address.split(':').pop() ?? '0', 16);
      byInode.set(f[9] as string, {
        localPort: port(f[1] as string),
        remotePort: port(f[2] as string),
        state: parseInt(f[3] as string, 16),
      });
    }
  }
  return byInode;
}

/**
 * Open descriptors of a process (Linux /proc): all of them, the sockets among them, and of those the connections
 * clients opened to `publicPort` (established, accepted there: what a leak of user connections would show in).
 */
export function descriptors(pid: number, publicPort: number): { fds: number; sockets: number; clients: number } {
  const dir = `/proc/${pid}/fd`;
  let fds = 0;
  const inodes: string[] = [];
  for (const fd of fs.readdirSync(dir)) {
    try {
      const target = fs.readlinkSync(`${dir}/${fd}`);
      fds++;
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.push(inode);
    } catch {
      // closed between the listing and the read
    }
  }
  const tcp = tcpSockets(pid);
  const clients = inodes.filter((i) => {
    const s = tcp.get(i);
    return s !== undefined && s.localPort === publicPort && s.state === 1;
  }).length;
  return { fds, sockets: inodes.length, clients };
}

/** GET without keep-alive (an idle pooled connection would count as an open socket of the app at the next sample). */
function getText(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Connections per connection name (`CLIENT LIST`'s `name=`; unnamed ones under ''). */
export async function redisConnectionsByName(client: RedisClient): Promise<Map<string, number>> {
  const list = (await client.call('CLIENT', 'LIST')) as string;
  const counts = new Map<string, number>();
  for (const line of list.split('\n')) {
    if (!line.trim()) continue;
    const name = /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/** The app's connections: `tidegate:<app>` and `tidegate:<app>-…` (the ws app's socket.io adapter: ws-pub, ws-sub). */
export function connectionsOf(app: AppKey, byName: Map<string, number>): number {
  let n = 0;
  for (const [name, count] of byName) if (name === `tidegate:${app}` || name.startsWith(`tidegate:${app}-`)) n += count;
  return n;
}

/** The sum of a metric's series in Prometheus text (NaN when absent). */
export function metricSum(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[2]);
  }
  return sum;
}

export async function sampleApp(app: RunningApp & { metricsUrl: string }, key: AppKey, byName: Map<string, number>): Promise<AppSample> {
  const pid = app.child.process.pid;
  if (pid === undefined || app.child.process.exitCode !== null) throw new Error(`${app.child.name} is not running:\n${app.child.output()}`);
  // Descriptors first: the scrape below opens a connection of its own.
  const { fds, sockets, clients } = descriptors(pid, Number(new URL(app.url).port));
  const reply = await app.child.request<{ memory: Memory | null; gc: boolean; error?: string }>({ type: 'memory?' }, 'memory', 30_000);
  if (!reply.memory) throw new Error(`${app.child.name}: cannot read its memory use: ${reply.error}`);
  if (!reply.gc) throw new Error(`${app.child.name}: started without --expose-gc`);
  const res = await getText(`${app.metricsUrl}/metrics`, 10_000);
  if (res.status !== 200) throw new Error(`${app.child.name}: GET ${app.metricsUrl}/metrics answered ${res.status}`);
  const text = res.body;
  const sample: AppSample = {
    heapMb: reply.memory.heapUsed / MB,
    rssMb: reply.memory.rss / MB,
    fds,
    sockets,
    clients,
    redisConnections: connectionsOf(key, byName),
    loopLagP99Ms: metricSum(text, 'tidegate_nodejs_eventloop_lag_p99_seconds') * 1000,
  };
  if (key === 'ws') sample.waitingSockets = metricSum(text, 'tidegate_ws_waiting_sockets') || 0;
  return sample;
}
