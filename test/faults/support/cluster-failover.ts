/**
 * The fault suite's Redis Cluster (TEST_FAULTS_CLUSTER_NODES, started by scripts/test-faults.sh), seen node by node:
 * who is master of which slots, which replica follows whom, and failovers a test can run and wait for.
 *
 * A failover is `CLUSTER FAILOVER` sent to a replica: coordinated (the master stops taking writes, the replica
 * catches up with its replication offset, then takes over: no acknowledged write is lost) or `FORCE` (the replica
 * takes over without waiting for the master: writes the master acknowledged but had not replicated yet are lost).
 * Done means every node agrees: the replica is master of the slots, the old master follows it, cluster_state ok.
 */
import { Redis } from 'ioredis';
import { waitFor } from '../../support/processes';

export interface ClusterNode {
  id: string;
  /** host:port */
  addr: string;
  role: 'master' | 'replica';
  /** The master a replica follows. */
  masterId: string | null;
  /** Flagged fail or pfail by the node that was asked. */
  failing: boolean;
  slots: Array<[number, number]>;
}

export interface FailoverResult {
  /** The master before, and the replica that took over (host:port). */
  from: string;
  to: string;
  /** From the command to every node agreeing (ms, the test's clock). */
  ms: number;
}

/** The suite's Cluster nodes (host:port), or none when the suite was not started by `npm run test:faults`. */
export function faultClusterNodes(): string[] {
  return (process.env.TEST_FAULTS_CLUSTER_NODES ?? '').split(',').filter(Boolean);
}

/** Parses `CLUSTER NODES` (one line per node: id addr flags master ping pong epoch link slots…). */
export function parseClusterNodes(text: string): ClusterNode[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.trim().split(' ');
      const flagSet = new Set((flags ?? '').split(','));
      return {
        id: id as string,
        addr: (address ?? '').split('@')[0]!.split(',')[0]!,
        role: flagSet.has('master') ? 'master' : 'replica',
        masterId: master && master !== '-' ? master : null,
        failing: flagSet.has('fail') || flagSet.has('fail?'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a as number, (b ?? a) as number] as [number, number];
          }),
      };
    });
}

export class FaultCluster {
  private readonly clients = new Map<string, Redis>();

  constructor(readonly nodes: string[]) {
    if (nodes.length === 0) throw new Error('no Cluster: run the fault suite through `npm run test:faults` (TEST_FAULTS_CLUSTER_NODES)');
  }

  /** A plain connection to one node (not cluster-aware: it asks that node only). */
  node(addr: string): Redis {
    let client = this.clients.get(addr);
    if (!client) {
      const [host, port] = addr.split(':');
      client = new Redis({ host, port: Number(port), lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
      client.on('error', () => undefined);
      this.clients.set(addr, client);
    }
    return client;
  }

  /** The layout as `addr` sees it. */
  async view(addr: string): Promise<ClusterNode[]> {
    return parseClusterNodes(String(await this.node(addr).call('CLUSTER', 'NODES')));
  }

  /** The layout, as the first node that answers sees it. */
  async topology(): Promise<ClusterNode[]> {
    let last: unknown;
    for (const addr of this.nodes) {
      try {
        return await this.view(addr);
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`no Cluster node answered CLUSTER NODES: ${String(last)}`);
  }

  async masters(): Promise<ClusterNode[]> {
    return (await this.topology()).filter((n) => n.role === 'master' && n.slots.length > 0);
  }

  async slotOf(key: string): Promise<number> {
    return Number(await this.node(this.nodes[0]!).call('CLUSTER', 'KEYSLOT', key));
  }

  /** The master serving `slot` now. */
  async masterOf(slot: number): Promise<ClusterNode> {
    const master = (await this.masters()).find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!master) throw new Error(`no master serves slot ${slot}`);
    return master;
  }

  /** How many keys matching `pattern` each master holds (SCAN on every master), by master address. */
  async keysByMaster(pattern: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const master of await this.masters()) {
      let cursor = '0';
      let n = 0;
      for (let i = 0; i < 10_000; i++) {
        const [next, found] = await this.node(master.addr).scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        n += found.length;
        cursor = next;
        if (cursor === '0') break;
      }
      counts.set(master.addr, n);
    }
    return counts;
  }

  /** Every node answers cluster_state:ok and all agree on who serves every slot; no node is flagged failing. */
  async settled(): Promise<boolean> {
    const views = await Promise.all(this.nodes.map((addr) => this.view(addr).catch(() => null)));
    if (views.some((v) => v === null)) return false;
    const states = await Promise.all(this.nodes.map(async (addr) => String(await this.node(addr).call('CLUSTER', 'INFO'))));
    if (!states.every((s) => s.includes('cluster_state:ok'))) return false;
    const owners = (view: ClusterNode[]) =>
      view
        .filter((n) => n.role === 'master' && n.slots.length > 0)
        .map((n) => `${n.addr}=${JSON.stringify(n.slots)}`)
        .sort()
        .join(' ');
    const first = owners(views[0]!);
    return views.every((v) => owners(v!) === first && v!.every((n) => !n.failing));
  }

  async waitSettled(what: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.settled(), timeoutMs, `the Cluster to settle (${what})`);
  }

  /**
   * Fails over the master at `masterAddr` to one of its replicas (`CLUSTER FAILOVER [FORCE]` on the replica), and
   * waits until every node agrees that the replica serves the slots and the old master follows it.
   */
  async failover(masterAddr: string, mode: 'coordinated' | 'force' = 'coordinated'): Promise<FailoverResult> {
    const layout = await this.topology();
    const master = layout.find((n) => n.addr === masterAddr && n.role === 'master');
    if (!master) throw new Error(`${masterAddr} is not a master`);
    const replica = layout.find((n) => n.role === 'replica' && n.masterId === master.id && !n.failing);
    if (!replica) throw new Error(`${masterAddr} has no healthy replica`);
    const began = Date.now();
    const args = mode === 'force' ? ['FAILOVER', 'FORCE'] : ['FAILOVER'];
    const answer = await this.node(replica.addr).call('CLUSTER', ...args);
    if (answer !== 'OK') throw new Error(`CLUSTER ${args.join(' ')} on ${replica.addr} answered ${String(answer)}`);
    await waitFor(
      async () => {
        const views = await Promise.all(this.nodes.map((addr) => this.view(addr)));
        return views.every((view) => {
          const promoted = view.find((n) => n.id === replica.id);
          const demoted = view.find((n) => n.id === master.id);
          return promoted?.role === 'master' && promoted.slots.length > 0 && demoted?.role === 'replica' && demoted.masterId === replica.id;
        });
      },
      30_000,
      `${replica.addr} to take over from ${masterAddr} on every node`,
    );
    await this.waitSettled(`after the failover of ${masterAddr}`);
    return { from: masterAddr, to: replica.addr, ms: Date.now() - began };
  }

  /** The process id of the redis-server at `addr` (INFO server). */
  async pidOf(addr: string): Promise<number> {
    const info = String(await this.node(addr).info('server'));
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no process_id in INFO of ${addr}`);
    return pid;
  }

  /**
   * An uncoordinated failover, as when a master dies: the master's process is frozen (SIGSTOP) until the other
   * nodes have marked it failed (cluster-node-timeout, 5 s on the suite's Cluster) and promoted its replica; then it
   * wakes (SIGCONT), learns it lost its slots and follows the new master. Writes it had acknowledged but not yet
   * replicated are lost. Only for the suite's own Cluster (its processes were started by this run's script).
   */
  async hang(masterAddr: string): Promise<FailoverResult> {
    const layout = await this.topology();
    const master = layout.find((n) => n.addr === masterAddr && n.role === 'master');
    if (!master) throw new Error(`${masterAddr} is not a master`);
    const replicas = layout.filter((n) => n.role === 'replica' && n.masterId === master.id).map((n) => n.id);
    if (replicas.length === 0) throw new Error(`${masterAddr} has no replica`);
    const others = this.nodes.filter((addr) => addr !== masterAddr);
    const pid = await this.pidOf(masterAddr);
    // The frozen node's connection would queue commands until it wakes: drop it, a fresh one is made on demand.
    this.clients.get(masterAddr)?.disconnect();
    this.clients.delete(masterAddr);
    const began = Date.now();
    let promoted: ClusterNode | undefined;
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(
        async () => {
          const views = await Promise.all(others.map((addr) => this.view(addr)));
          promoted = views[0]!.find((n) => replicas.includes(n.id) && n.role === 'master' && n.slots.length > 0);
          return promoted !== undefined && views.every((v) => v.some((n) => n.id === promoted!.id && n.role === 'master'));
        },
        60_000,
        `a replica of ${masterAddr} to be promoted while it hangs`,
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(
      async () => {
        const views = await Promise.all(this.nodes.map((addr) => this.view(addr)));
        return views.every((v) => v.find((n) => n.id === master.id)?.masterId === promoted!.id);
      },
      60_000,
      `${masterAddr} to follow ${promoted!.addr} once awake`,
    );
    await this.waitSettled(`after ${masterAddr} hung`);
    return { from: masterAddr, to: promoted!.addr, ms: Date.now() - began };
  }

  /** Fails over every master in turn (coordinated), each once the Cluster has settled from the one before. */
  async failoverEveryMaster(mode: 'coordinated' | 'force' = 'coordinated'): Promise<FailoverResult[]> {
    const results: FailoverResult[] = [];
    for (const master of await this.masters()) results.push(await this.failover(master.addr, mode));
    return results;
  }

  /**
   * Puts the masters back where `masters` (addresses) had them: each of them that is a replica now takes over from
   * its master again (coordinated). The next test starts from a known layout.
   */
  async restore(masters: string[]): Promise<void> {
    for (const addr of masters) {
      const layout = await this.topology();
      const node = layout.find((n) => n.addr === addr);
      if (!node || node.role === 'master') continue;
      const current = layout.find((n) => n.id === node.masterId);
      if (current) await this.failover(current.addr);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.quit().catch(() => c.disconnect())));
    this.clients.clear();
  }
}
