/**
 * People arriving at a room through a gateway, as an app would: a request to the protected path; if told to wait,
 * check in with the ticket (`/rooms/:id/status`) until it is their turn; a short visit to the origin with the
 * admission token; leave. A 503 (the waiting room unavailable, e.g. Redis down) is retried with the same ticket; a
 * ticket no longer valid is answered with a new one (counted as re-queued); a token whose session is gone gets the
 * waiting room again, and the person waits again (counted as a session lost).
 * Every answer is numbered in one sequence (this process's order of events, no clock), so a test can tell whether a
 * later ticket got in while an earlier one was still told to wait.
 */
/** What one simulated person went through. */
export interface SurgeUser {
  index: number;
  /** The ticket number they hold (the last one, if they had to take another). */
  ticket: number | null;
  /** Tickets taken after the first one (their ticket was no longer valid: they joined the line again at its end). */
  requeued: number;
  /** Times their admission token stopped letting them through (their session was gone) before their visit ended. */
  sessionsLost: number;
  /** The session id of their (last) admission token (`sub`). */
  sessionId: string | null;
  /** Each session they were let through the origin with: its id, and the first and last answers of it (sequence). */
  holds: Array<{ sessionId: string; from: number; to: number }>;
  via: 'direct' | 'line' | null;
  /** Sequence number of the answer that admitted them. */
  admittedSeq: number | null;
  /** Sequence numbers of every "wait" answer they got, with the ticket it was for. */
  waits: Array<{ seq: number; ticket: number; position: number }>;
  /** Statuses other than 200 the gateway answered (503 while Redis is down…), by status. */
  errors: Record<number, number>;
  /** Set when they gave up or something unexpected happened. */
  failure: string | null;
  done: boolean;
}

export interface SurgeOptions {
  gatewayUrl: string;
  roomId: string;
  /** How long a person stays before leaving (the visit), ms. */
  visitMs: number;
  /** How often a waiting person checks in, ms. */
  pollMs: number;
  /** Each person gives up after this long (a bound, not a goal). */
  deadlineMs: number;
}

type Json = Record<string, unknown>;
const ticketNumber = (ticket: string) => Number(ticket.split('.')[1]);
const sessionOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub?: string }).sub ?? null;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Surge {
  private seq = 0;
  readonly users: SurgeUser[] = [];

  constructor(private readonly options: SurgeOptions) {}

  /** Answers numbered so far (a clock made of events). */
  get sequence(): number {
    return this.seq;
  }

  admitted(): number {
    return this.users.filter((u) => u.admittedSeq !== null).length;
  }

  errorCount(status: number): number {
    return this.users.reduce((n, u) => n + (u.errors[status] ?? 0), 0);
  }

  /** One person arriving now; resolves when they left (or gave up). */
  async arrive(): Promise<SurgeUser> {
    const user: SurgeUser = {
      index: this.users.length,
      ticket: null,
      requeued: 0,
      sessionsLost: 0,
      sessionId: null,
      holds: [],
      via: null,
      admittedSeq: null,
      waits: [],
      errors: {},
      failure: null,
      done: false,
    };
    this.users.push(user);
    try {
      await this.run(user);
    } catch (err) {
      user.failure = (err as Error).message;
    }
    user.done = true;
    return user;
  }

  private async request(user: SurgeUser, path: string, headers: Record<string, string>, method = 'GET') {
    const { gatewayUrl } = this.options;
    for (;;) {
      const res = await fetch(`${gatewayUrl}${path}`, {
        method,
        headers: { accept: 'application/json', ...headers },
        signal: AbortSignal.timeout(10_000),
      }).catch((err: Error) => err);
      if (res instanceof Error) {
        user.errors[0] = (user.errors[0] ?? 0) + 1;
      } else if (res.status === 503) {
        user.errors[503] = (user.errors[503] ?? 0) + 1;
        await res.arrayBuffer();
      } else {
        return { res, seq: ++this.seq };
      }
      await pause(this.options.pollMs);
    }
  }

  private async run(user: SurgeUser): Promise<void> {
    const { roomId, deadlineMs, pollMs, visitMs } = this.options;
    const deadline = Date.now() + deadlineMs;
    let { res, seq } = await this.request(user, `/${roomId}/page`, {});
    let ticket: string | null = null;
    // Until a visit goes through: a person whose session was lost is shown the waiting room again and waits again.
    for (let round = 1; ; round++) {
      if (round > 5) throw new Error('lost the session five times');
      let token: string | null = null;
      while (token === null) {
        if (Date.now() > deadline) throw new Error(`gave up after ${deadlineMs} ms (ticket ${user.ticket})`);
        if (res.status !== 200) throw new Error(`the gateway answered ${res.status}: ${await res.text()}`);
        if (res.headers.get('x-origin') === 'fake') {
          token = res.headers.get('x-tidegate-token');
          user.via = 'direct';
          await res.arrayBuffer();
          if (!token) throw new Error('admitted without a token');
          break;
        }
        const body = (await res.json()) as Json;
        if (body.inWaitingRoom === false && typeof body.token === 'string') {
          token = body.token;
          user.via = 'line';
          break;
        }
        if (body.inWaitingRoom !== true || typeof body.ticket !== 'string') throw new Error(`unexpected answer ${JSON.stringify(body)}`);
        if (ticket !== null && body.ticket !== ticket) user.requeued++;
        ticket = body.ticket;
        user.ticket = ticketNumber(ticket);
        user.waits.push({ seq, ticket: user.ticket, position: Number(body.position) });
        await pause(pollMs);
        ({ res, seq } = await this.request(user, `/rooms/${roomId}/status`, { 'x-tidegate-ticket': ticket }));
      }
      user.admittedSeq = seq;
      const sessionId = sessionOf(token);
      user.sessionId = sessionId;
      const hold = { sessionId: sessionId ?? '?', from: seq, to: seq };
      user.holds.push(hold);
      // The visit: the origin answers with the token, and again after a while; then the place is given back.
      let lost: { res: Response; seq: number } | null = null;
      for (const step of ['visit', 'again']) {
        if (step === 'again') await pause(visitMs);
        const visit = await this.request(user, `/${roomId}/${step}`, { 'x-tidegate-token': token });
        if (visit.res.headers.get('x-origin') !== 'fake') {
          lost = visit;
          break;
        }
        await visit.res.arrayBuffer();
        hold.to = visit.seq;
        token = visit.res.headers.get('x-tidegate-token') ?? token;
      }
      if (lost === null) {
        const left = await this.request(user, `/rooms/${roomId}/leave`, { 'x-tidegate-token': token }, 'POST');
        await left.res.arrayBuffer();
        if (left.res.status !== 200) throw new Error(`leave answered ${left.res.status}`);
        return;
      }
      // The token's session is over: the gateway treated the visit as an arrival (the waiting room, or a new session).
      if (lost.res.status !== 200) throw new Error(`visit: the gateway answered ${lost.res.status}: ${await lost.res.text()}`);
      user.sessionsLost++;
      ({ res, seq } = lost);
    }
  }

  /**
   * People told to wait after someone with a later ticket had been let in from the line (by the order of the
   * answers): each one counted once. Only those who kept their ticket and were there (checking in) count.
   */
  fifoInversions(): number {
    const admittedFromLine = this.users
      .filter((u) => u.via === 'line' && u.ticket !== null && u.admittedSeq !== null && u.requeued === 0 && u.sessionsLost === 0)
      .map((u) => ({ ticket: u.ticket as number, seq: u.admittedSeq as number }));
    let inversions = 0;
    for (const u of this.users) {
      if (u.requeued > 0 || u.sessionsLost > 0) continue;
      const overtaken = u.waits.some((w) => admittedFromLine.some((a) => a.ticket > w.ticket && a.seq < w.seq));
      if (overtaken) inversions++;
    }
    return inversions;
  }

  /**
   * Sessions two people went through the origin with at the same time (one session id, two people, overlapping from
   * their admission to their last visit, by the order of the answers): each is one person more than the room counts.
   */
  sharedSessions(): number {
    const holds = this.users.flatMap((u) => u.holds.map((h) => ({ ...h, person: u.index })));
    let shared = 0;
    for (const [i, a] of holds.entries()) {
      for (const b of holds.slice(i + 1)) {
        if (a.sessionId === b.sessionId && a.person !== b.person && a.from <= b.to && b.from <= a.to) shared++;
      }
    }
    return shared;
  }
}
