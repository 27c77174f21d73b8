/**
 * The admission scripts' replies (libs/redis/src/scripts/*.lua, contracts in their headers), decoded here and only
 * here into named objects. A reply of a shape the contract does not allow is a bug or a version mix-up between the
 * scripts and this code: it throws, rather than being read as some other answer.
 */

export type ArriveResult =
  | { kind: 'admitted'; sessionId: string; expiresAtMs: number }
  /** issuedAt: epoch seconds by the Redis clock, at or after the line's start: sign exactly this into the ticket. */
  | { kind: 'ticket'; ticket: number; position: number; issuedAt: number }
  | { kind: 'rejected'; active: number }
  | { kind: 'unknown' };

export type StatusResult =
  | { kind: 'waiting'; position: number }
  | { kind: 'admitted'; sessionId: string; expiresAtMs: number }
  | { kind: 'expired' }
  | { kind: 'invalid' }
  | { kind: 'unknown' };

export interface LeaveResult {
  ticketLeft: boolean;
  sessionEnded: boolean;
}

/** What the room is doing, from the release script's flags. */
export type RoomMode = 'normal' | 'queue_all' | 'suspended' | 'passthrough';

export interface ReleaseStep {
  /** Sessions reserved by this step. */
  admitted: number;
  /** Tickets passed over for good (their holders left or went silent). */
  skipped: number;
  /** Tickets passed over while their holders were away (they keep their place for the grace period). */
  parked: number;
  serving: number;
  tickets: number;
  gone: number;
  /** Parked tickets keeping their place now. */
  away: number;
  active: number;
  admitsLastMinute: number;
  oldestTicketAgeMs: number;
  /** Redis server time of the step, ms. */
  nowMs: number;
  mode: RoomMode;
}

export type Reply = Array<string | number>;

/**
 * A ticket as the admission scripts take it: its number, and its issue time (epoch seconds, from the ticket), which
 * tells whether it is of the room's current line or of one lost before it (Redis lost its data, the room was
 * re-created: numbers start at 1 again). A bare number stands for a ticket known to be of the current line (tools,
 * tests); everything holding a signed ticket passes the ticket.
 */
export type LineTicket = number | { number: number; issuedAt: number };

/** The script arguments for a ticket: its number and issue time (a bare number: of the current line). */
export function lineTicketArgs(ticket: LineTicket): { number: number; issuedAt: number } {
  return typeof ticket === 'number' ? { number: ticket, issuedAt: Number.MAX_SAFE_INTEGER } : ticket;
}

/**
 * A request counted against its client's throttle window in the same script call as its admission decision
 * (libs/redis/src/scripts/_client-window.lua): the window's key (RedisKeys.room(id).client(...)) and limits.
 */
export interface ClientWindow {
  key: string;
  windowMs: number;
  /** Requests allowed per window (> 0). */
  limit: number;
  /** How long a client stays refused after passing the limit, ms (0: until the window ends). */
  blockMs: number;
}

/** What the count said: requests in the window (this one included), ms until it resets, and whether it is refused. */
export interface ClientCount {
  hits: number;
  resetMs: number;
  blocked: boolean;
}

/** An admission call that counted its client first: refused (nothing was decided), or the decision. */
export type Counted<T> = { count: ClientCount & { blocked: true }; result: null } | { count: ClientCount & { blocked: false }; result: T };

/** The arguments a counting script takes for its client: the key, and window/limit/block (limit 0: not counted). */
export function clientWindowArgs(window: ClientWindow | null, fallbackKey: string): { key: string; args: [number, number, number] } {
  if (!window) return { key: fallbackKey, args: [0, 0, 0] };
  return {
    key: window.key,
    args: [Math.max(1, Math.ceil(window.windowMs)), Math.max(1, Math.floor(window.limit)), Math.max(0, Math.ceil(window.blockMs))],
  };
}

/** Splits a counting script's reply (`{hits, resetMs, blocked, <answer...>}`) into the count and the answer. */
export function decodeCounted(script: string, reply: Reply): { count: ClientCount; answer: Reply | null } {
  if (!Array.isArray(reply) || reply.length < 3) throw unexpected(script, reply);
  const blocked = int(script, reply, reply[2]);
  const count = { hits: int(script, reply, reply[0]), resetMs: int(script, reply, reply[1]), blocked: blocked === 1 };
  if (blocked === 1) {
    if (reply.length !== 3) throw unexpected(script, reply);
    return { count, answer: null };
  }
  if (blocked !== 0 || reply.length < 4) throw unexpected(script, reply);
  return { count, answer: reply.slice(3) };
}

/**
 * The session id of an admission that came through the line: `t<line>-<ticket>` (`t<ticket>` in line 0, a line begun
 * before lines had a start), as the scripts name it (ticket_session in _room-common.lua). With the line in it, an
 * admission token of a lost line never renews the new line's session of the same ticket number.
 */
export const ticketSessionId = (line: number, ticket: number) => (line === 0 ? `t${ticket}` : `t${line}-${ticket}`);

function unexpected(script: string, reply: unknown): Error {
  return new Error(`admission script ${script} answered ${JSON.stringify(reply)}, which its contract does not allow`);
}

function int(script: string, reply: unknown, value: unknown): number {
  const n = Number(value);
  if (value === undefined || value === null || value === '' || !Number.isFinite(n)) throw unexpected(script, reply);
  return n;
}

/** A counting script's reply as the count and, unless the client was refused, the decoded answer. */
export function countedResult<T>(script: string, reply: Reply, decode: (answer: Reply) => T): Counted<T> {
  const { count, answer } = decodeCounted(script, reply);
  if (answer === null) return { count: { ...count, blocked: true }, result: null };
  return { count: { ...count, blocked: false }, result: decode(answer) };
}

/**
 * arrive-11+'s answer: one counted reply per arrival, in the order sent; `sessionIds[i]` is the id proposed to
 * arrival i for a direct admission.
 */
export function decodeArrivals(reply: unknown, sessionIds: readonly string[]): Array<Counted<ArriveResult>> {
  if (!Array.isArray(reply) || reply.length !== sessionIds.length) throw unexpected('arrive', reply);
  const results = new Array<Counted<ArriveResult>>(reply.length);
  for (let i = 0; i < reply.length; i++) {
    const one: unknown = reply[i];
    if (!Array.isArray(one)) throw unexpected('arrive', reply);
    results[i] = countedResult('arrive', one as Reply, (answer) => decodeArrive(answer, sessionIds[i] as string));
  }
  return results;
}

/** One arrival's answer in arrive-11+'s reply: `sessionId` is the id the caller proposed for a direct admission. */
export function decodeArrive(reply: Reply, sessionId: string): ArriveResult {
  switch (reply[0]) {
    case 'admitted':
      return { kind: 'admitted', sessionId, expiresAtMs: int('arrive', reply, reply[1]) };
    case 'ticket':
      return {
        kind: 'ticket',
        ticket: int('arrive', reply, reply[1]),
        position: int('arrive', reply, reply[2]),
        issuedAt: int('arrive', reply, reply[4]),
      };
    case 'rejected':
      return { kind: 'rejected', active: int('arrive', reply, reply[1]) };
    case 'unknown':
      return { kind: 'unknown' };
    default:
      throw unexpected('arrive', reply);
  }
}

/** status-11's answer, for ticket number `ticket`. */
export function decodeStatus(reply: Reply, ticket: number): StatusResult {
  switch (reply[0]) {
    case 'waiting':
      return { kind: 'waiting', position: int('status', reply, reply[1]) };
    case 'admitted':
      return {
        kind: 'admitted',
        sessionId: ticketSessionId(int('status', reply, reply[2]), ticket),
        expiresAtMs: int('status', reply, reply[1]),
      };
    case 'expired':
    case 'invalid':
    case 'unknown':
      return { kind: reply[0] };
    default:
      throw unexpected('status', reply);
  }
}

/** leave-8. */
export function decodeLeave(reply: Reply): LeaveResult {
  if (reply.length !== 2) throw unexpected('leave', reply);
  return { ticketLeft: int('leave', reply, reply[0]) === 1, sessionEnded: int('leave', reply, reply[1]) === 1 };
}

/** touch-3's answer: the session's new expiry in ms, or null when it is over (or the room is unknown). */
export function decodeTouch(reply: Reply): number | null {
  if (reply.length !== 1) throw unexpected('touch', reply);
  const n = int('touch', reply, reply[0]);
  return n > 0 ? n : null;
}

const MODES: Record<number, RoomMode> = { 0: 'normal', 1: 'queue_all', 2: 'suspended', 3: 'passthrough' };

/** release-16: null when the room is unknown (no hot copy of its settings). */
export function decodeRelease(reply: Reply): ReleaseStep | null {
  if (reply.length !== 12) throw unexpected('release', reply);
  const n = reply.map((v) => int('release', reply, v));
  const [admitted, skipped, serving, tickets, gone, active, admitsLastMinute, oldestTicketAgeMs, nowMs, flags, parked, away] = n as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (flags === -1) return null;
  const mode = MODES[flags];
  if (!mode) throw unexpected('release', reply);
  return { admitted, skipped, parked, serving, tickets, gone, away, active, admitsLastMinute, oldestTicketAgeMs, nowMs, mode };
}
