/**
 * A surge of users into one room through a real gateway (and ws app), for the Cluster failover test: each user
 * arrives at a protected path, waits (half by polling the JSON status, half on a socket), goes in with the token,
 * makes one request to the origin, stays a moment and leaves. Every answer is noted, so a test can say who got in,
 * how often, when, and what the gateway answered while Redis failed over.
 */
import { io, type Socket } from 'socket.io-client';

export interface SurgeUser {
  index: number;
  device: string;
  via: 'poll' | 'socket';
  /** Distinct admission sessions (the token's `sub`) this user was given: more than one is an admission twice. */
  sessions: Set<string>;
  admittedAt?: number;
  /** When the user asked to leave (the place is theirs until then, at least). */
  leavingAt?: number;
  error?: string;
}

export interface SurgeOptions {
  gatewayUrl: string;
  wsUrl: string;
  roomId: string;
  /** Path a user asks for (protected by the room). */
  path: string;
  users: number;
  /** How long an admitted user stays before leaving (ms). */
  stayMs: number;
  /** Every user gives up after this long (ms). */
  deadlineMs: number;
}

export interface SurgeResult {
  users: SurgeUser[];
  /** Answers by HTTP status (0: no answer) to every request the users made. */
  answers: Map<number, number>;
  /** Socket disconnections the users saw (the ws app, or Redis under it, dropped them). */
  socketDrops: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const subOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string }).sub;

export class Surge {
  readonly users: SurgeUser[];
  readonly answers = new Map<number, number>();
  socketDrops = 0;
  private readonly sockets: Socket[] = [];
  private closing = false;

  constructor(private readonly options: SurgeOptions) {
    this.users = Array.from({ length: options.users }, (_, index) => ({
      index,
      device: `surge-${String(index).padStart(5, '0')}`,
      via: index % 2 === 0 ? 'poll' : 'socket',
      sessions: new Set<string>(),
    }));
  }

  admitted(): number {
    return this.users.filter((u) => u.admittedAt !== undefined).length;
  }

  /** Runs every user at once; resolves when each got in and left, or gave up. */
  async run(): Promise<SurgeResult> {
    const deadline = Date.now() + this.options.deadlineMs;
    try {
      await Promise.all(this.users.map((u) => this.visit(u, deadline).catch((err: Error) => (u.error = err.message))));
    } finally {
      this.closing = true;
      for (const s of this.sockets) s.disconnect();
    }
    return { users: this.users, answers: this.answers, socketDrops: this.socketDrops };
  }

  /** The peak number of users between their admission and their leaving, as the users saw it. */
  peakInside(): number {
    const events: Array<[number, number]> = [];
    for (const u of this.users) {
      if (u.admittedAt === undefined) continue;
      events.push([u.admittedAt, 1], [u.leavingAt ?? Infinity, -1]);
    }
    // At equal times, leaving first: a place freed and taken at the same millisecond is not two inside.
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let inside = 0;
    let peak = 0;
    for (const [, d] of events) peak = Math.max(peak, (inside += d));
    return peak;
  }

  /** One HTTP request, retried (at most 300 times, 100 ms apart, within the deadline) while the gateway answers 5xx or not at all. */
  private async request(url: string, init: RequestInit, deadline: number): Promise<Response> {
    for (let i = 0; ; i++) {
      let res: Response | undefined;
      try {
        res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
      } catch {
        res = undefined;
      }
      const status = res?.status ?? 0;
      this.answers.set(status, (this.answers.get(status) ?? 0) + 1);
      if (res && status < 500) return res;
      if (i >= 300 || Date.now() > deadline) throw new Error(`${init.method ?? 'GET'} ${url}: ${status} after ${i + 1} tries`);
      await res?.body?.cancel();
      await sleep(100);
    }
  }

  private async visit(u: SurgeUser, deadline: number): Promise<void> {
    const { gatewayUrl, path, roomId } = this.options;
    const headers = { accept: 'application/json', 'x-device-id': u.device };
    const first = await this.request(`${gatewayUrl}${path}`, { headers }, deadline);
    let token = first.headers.get('x-tidegate-token');
    if (token === null) {
      const body = (await first.json()) as { inWaitingRoom?: boolean; ticket?: string };
      if (!body.inWaitingRoom || !body.ticket) throw new Error(`arrival answered ${first.status} ${JSON.stringify(body)}`);
      token = u.via === 'poll' ? await this.poll(u, body.ticket, deadline) : await this.listen(u, body.ticket, deadline);
    } else await first.body?.cancel();
    u.sessions.add(subOf(token));
    u.admittedAt ??= Date.now();
    // In: one request to the origin with the token, a short stay, then leave.
    const inside = await this.request(`${gatewayUrl}${path}`, { headers: { ...headers, 'x-tidegate-token': token } }, deadline);
    await inside.body?.cancel();
    if (inside.headers.get('x-origin') !== 'fake')
      throw new Error(`admitted, but the gateway answered ${inside.status} without the origin`);
    await sleep(this.options.stayMs);
    u.leavingAt = Date.now();
    const left = await this.request(
      `${gatewayUrl}/rooms/${roomId}/leave`,
      { method: 'POST', headers: { ...headers, 'x-tidegate-token': token } },
      deadline,
    );
    await left.body?.cancel();
  }

  private async poll(u: SurgeUser, ticket: string, deadline: number): Promise<string> {
    const url = `${this.options.gatewayUrl}/rooms/${this.options.roomId}/status`;
    for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
      const res = await this.request(url, { headers: { 'x-device-id': u.device, 'x-tidegate-ticket': ticket } }, deadline);
      const body = (await res.json()) as { inWaitingRoom?: boolean; token?: string | null; ticket?: string };
      if (body.inWaitingRoom === false && body.token) return body.token;
      if (body.ticket) ticket = body.ticket;
      await sleep(250);
    }
    throw new Error('never admitted (polling)');
  }

  private listen(u: SurgeUser, ticket: string, deadline: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = io(this.options.wsUrl, { auth: { ticket, room: this.options.roomId }, transports: ['websocket'] });
      this.sockets.push(socket);
      const timer = setTimeout(() => reject(new Error('never admitted (socket)')), Math.max(0, deadline - Date.now()));
      socket.on('disconnect', () => {
        if (!this.closing) this.socketDrops++;
      });
      socket.on('admitted.v1', (payload: { token: string }) => {
        // A second admission on the same socket would show up as a second session.
        u.sessions.add(subOf(payload.token));
        clearTimeout(timer);
        resolve(payload.token);
      });
    });
  }
}
