/**
 * The soak's steady load on loopback: every `burstSeconds`, `rate × burstSeconds` new users arrive at the room at once
 * (the simulator's users, bench/simulate/user.ts: those who find the room full wait on a socket.io connection to the
 * ws app until admitted, then visit the origin through the gateway three times over a session and leave), so each
 * burst forms a line that drains before the next; and a steady poller (`pollRate` requests a second: the gateway's
 * readiness and JWKS, the ws app's readiness, as load balancers and apps poll them). Only counts are kept, not one
 * record per user, so this process's own memory does not grow with the run.
 */
import type { UserRecord, UsersConfig } from '../simulate/protocol';
import { setMaxListeners } from 'node:events';
import { closeConnections, httpRequest } from '../simulate/http-client';
import { simulateUser } from '../simulate/user';

export interface LoadOptions {
  gatewayUrl: string;
  wsUrl: string;
  roomId: string;
  pathPrefix: string;
  sessionSeconds: number;
  rate: number;
  burstSeconds: number;
  pollRate: number;
}

export interface LoadCounts {
  started: number;
  inProgress: number;
  waiting: number;
  /** How users were admitted: at once, told on the socket, or by polling after a refused socket. */
  direct: number;
  socket: number;
  poll: number;
  left: number;
  errors: number;
  /** The first few distinct error messages. */
  errorSamples: string[];
  positionIncreases: number;
  socketDisconnects: number;
  polls: number;
  pollFailures: number;
}

const MAX_ERROR_SAMPLES = 5;

export class SoakLoad {
  private readonly counts: LoadCounts = {
    started: 0,
    inProgress: 0,
    waiting: 0,
    direct: 0,
    socket: 0,
    poll: 0,
    left: 0,
    errors: 0,
    errorSamples: [],
    positionIncreases: 0,
    socketDisconnects: 0,
    polls: 0,
    pollFailures: 0,
  };
  private readonly stopUsers = new AbortController();
  private readonly users = new Set<Promise<void>>();
  private burstTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private pollsInFlight = 0;
  private readonly config: UsersConfig;

  constructor(private readonly o: LoadOptions) {
    // Every user in progress listens for the stop (its waits, its socket).
    setMaxListeners(1_000_000, this.stopUsers.signal);
    this.config = {
      type: 'config',
      gatewayUrls: [o.gatewayUrl],
      wsUrls: [o.wsUrl],
      roomId: o.roomId,
      pathPrefix: o.pathPrefix,
      sessionSeconds: o.sessionSeconds,
      // Not used here: users arrive on the soak's schedule, not after a push.
      openModel: { openRate: 1, medianSeconds: 0, sigma: 0, maxSeconds: 0 },
      seed: 0,
    };
  }

  state(): LoadCounts {
    return { ...this.counts, errorSamples: [...this.counts.errorSamples] };
  }

  start(): void {
    this.burst();
    this.burstTimer = setInterval(() => this.burst(), this.o.burstSeconds * 1000);
    if (this.o.pollRate > 0) this.pollTimer = setInterval(() => this.pollOnce(), 1000 / this.o.pollRate);
  }

  /**
   * No new arrivals or polls; the users in progress finish (left or failed) within `graceMs`, then are told to stop;
   * then every client connection is closed.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.burstTimer) clearInterval(this.burstTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    const all = Promise.all([...this.users]);
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (late) {
      this.stopUsers.abort();
      await all;
    }
    // The users are gone, and so are their keep-alive connections.
    closeConnections();
  }

  private burst(): void {
    const n = Math.round(this.o.rate * this.o.burstSeconds);
    for (let i = 0; i < n; i++) this.startUser();
  }

  private startUser(): void {
    const id = ++this.counts.started;
    const record: UserRecord = {
      deviceId: `soak-${String(id).padStart(8, '0')}`,
      sentAt: Date.now(),
      openedAt: 0,
      arrivedAt: null,
      ticket: null,
      firstEtaSeconds: null,
      firstEtaAt: null,
      admittedAt: null,
      leftAt: null,
      via: null,
      positions: 0,
      positionIncreases: 0,
      disconnects: 0,
      error: null,
    };
    this.counts.inProgress++;
    const user = simulateUser(
      {
        config: this.config,
        gatewayUrl: this.o.gatewayUrl,
        wsUrl: this.o.wsUrl,
        signal: this.stopUsers.signal,
        onWaiting: (d) => (this.counts.waiting += d),
      },
      record,
      null,
    )
      .catch((err: unknown) => {
        record.error ??= `soak: ${err instanceof Error ? err.message : String(err)}`;
      })
      .finally(() => {
        this.users.delete(user);
        this.counts.inProgress--;
        this.record(record);
      });
    this.users.add(user);
  }

  private record(r: UserRecord): void {
    const c = this.counts;
    if (r.via === 'direct') c.direct++;
    else if (r.via === 'socket') c.socket++;
    else if (r.via === 'poll') c.poll++;
    if (r.leftAt !== null) c.left++;
    c.positionIncreases += r.positionIncreases;
    c.socketDisconnects += r.disconnects;
    if (r.error !== null && !this.stopUsers.signal.aborted) {
      c.errors++;
      if (c.errorSamples.length < MAX_ERROR_SAMPLES && !c.errorSamples.includes(r.error)) c.errorSamples.push(r.error);
    }
  }

  private pollOnce(): void {
    // Never more than a second's worth in flight: a slow app must not pile up requests here.
    if (this.pollsInFlight >= Math.max(1, this.o.pollRate)) return;
    const targets = [`${this.o.gatewayUrl}/health/ready`, `${this.o.gatewayUrl}/.well-known/jwks.json`, `${this.o.wsUrl}/health/ready`];
    const url = targets[this.counts.polls % targets.length] as string;
    this.counts.polls++;
    this.pollsInFlight++;
    httpRequest('GET', url, { accept: 'application/json' }, 10_000)
      .then((res) => {
        if (res.status !== 200) this.counts.pollFailures++;
      })
      .catch(() => this.counts.pollFailures++)
      .finally(() => this.pollsInFlight--);
  }
}
