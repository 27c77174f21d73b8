import { Injectable } from '@nestjs/common';
import {
  AdmissionStore,
  AdmissionTokenError,
  AdmissionTokens,
  TicketError,
  TicketSigner,
  type Admission,
  type ArriveResult,
  type ClientCount,
  type ClientWindow,
  type Counted,
} from '@tidegate/admission';
import { RoomRegistry, type GatewayRoom } from './room-registry';
import { WaveAttribution, type DecidedVia, type WavePresentation } from './wave-attribution';
import { TrafficRecorder } from './traffic-recorder';
import { VerifiedTokens } from './verified-tokens';

/**
 * What to do with a request to a protected path (or a check-in of a waiting client). `count` is where the client
 * stands in its throttle window of the room, when the request was counted (for the RateLimit-* headers).
 */
export type GateDecision = (
  | /** Pass to the origin; `token` is set when a (new or renewed) admission token must reach the client. */
    { kind: 'pass'; room: GatewayRoom; token?: IssuedToken; sessionId?: string }
  | { kind: 'wait'; room: GatewayRoom; ticket: string; position: number; newTicket: boolean }
  | { kind: 'rejected'; room: GatewayRoom }
  | { kind: 'unavailable'; room: GatewayRoom; reason: string }
  /** The client is over its limit in this room: nothing was decided (429). */
  | { kind: 'throttled'; room: GatewayRoom }
) & { count?: ClientCount };

export interface IssuedToken {
  value: string;
  expiresAt: Date;
}

export interface Credentials extends WavePresentation {
  token?: string;
  ticket?: string;
}

/**
 * The admission decision, one Redis script per request: a valid token renews its session (touch); a ticket checks
 * in (status: its place, or its session once its turn came); anybody else arrives (admitted now, or a new ticket).
 * Forged, expired, other-room or ended credentials are ignored, so their holder is treated as a new arrival.
 *
 * Given the client's throttle window (the gate and the status route), the first script the request runs counts it
 * there too, in the same round trip, and a client over its limit is refused before anything is decided. Signatures
 * are checked before that count (they need no Redis): a client flooding with forged credentials is still counted, by
 * the arrival its request falls back to.
 */
@Injectable()
export class GateService {
  constructor(
    private readonly store: AdmissionStore,
    private readonly tickets: TicketSigner,
    private readonly tokens: AdmissionTokens,
    readonly registry: RoomRegistry,
    private readonly traffic: TrafficRecorder,
    private readonly attribution: WaveAttribution,
  ) {
    this.verifiedTokens = new VerifiedTokens((token, roomId) => this.tokens.verify(token, roomId));
  }

  /** An admitted client's token is checked once per gateway, not on every request (see VerifiedTokens). */
  private readonly verifiedTokens: VerifiedTokens;

  /**
   * The decision, counted in `client` (the client's throttle window in this room) when given; a valid wave ticket
   * among the credentials is counted afterwards, off the response path.
   */
  decide(room: GatewayRoom, credentials: Credentials, client?: ClientWindow): Promise<GateDecision> {
    return credentials.token || credentials.ticket
      ? this.decideHolder(room, credentials, client)
      : this.decideArrival(room, credentials, client);
  }

  /**
   * A request with no token and no ticket: a new arrival, the request a surge is made of. The same decision as
   * `arrive` (through `arrivalDecision`), with one async frame between the hook and the script instead of four.
   */
  private async decideArrival(room: GatewayRoom, credentials: Credentials, client: ClientWindow | undefined): Promise<GateDecision> {
    let result: ArriveResult;
    let count: ClientCount | undefined;
    if (client) {
      const counted = await this.store.arriveCounting(room.id, client);
      count = counted.count;
      if (counted.result === null) return { kind: 'throttled', room, count };
      result = counted.result;
    } else {
      result = await this.store.arrive(room.id);
    }
    const made = this.arrivalDecision(room, result);
    const decision: GateDecision = made instanceof Promise ? await made : made;
    if (count) decision.count = count;
    void this.attribution.observe(room, credentials, decision, 'arrive');
    return decision;
  }

  private async decideHolder(room: GatewayRoom, credentials: Credentials, client: ClientWindow | undefined): Promise<GateDecision> {
    const counter = new RequestCounter(client);
    const { decision, via } = await this.decideVia(room, credentials, counter);
    const counted: GateDecision = counter.count ? { ...decision, count: counter.count } : decision;
    if (decision.kind !== 'throttled') void this.attribution.observe(room, credentials, counted, via);
    return counted;
  }

  private async decideVia(
    room: GatewayRoom,
    credentials: Credentials,
    counter: RequestCounter,
  ): Promise<{ decision: GateDecision; via: DecidedVia }> {
    if (credentials.token) {
      const admission = await this.verifyToken(credentials.token, room.id);
      if (admission) {
        const touched = await counter.run(
          () => this.store.touch(room.id, admission.sessionId),
          (window) => this.store.touchCounting(room.id, admission.sessionId, window),
        );
        if (touched.refused) return { decision: { kind: 'throttled', room }, via: 'token' };
        const expiresAtMs = touched.result;
        if (expiresAtMs !== null) {
          // Re-sign once the token has used half its life, so an active user's token never lapses.
          const halfLife = (room.settings.sessionDurationSeconds * 1000) / 2;
          const renew = admission.expiresAt * 1000 - Date.now() < halfLife;
          const decision: GateDecision = {
            kind: 'pass',
            room,
            sessionId: admission.sessionId,
            token: renew ? await this.issue(room, admission.sessionId, expiresAtMs) : undefined,
          };
          return { decision, via: 'token' };
        }
      }
    }
    if (credentials.ticket) {
      const decision = await this.checkIn(room, credentials.ticket, counter);
      if (decision) return { decision, via: 'ticket' };
    }
    return { decision: await this.arrive(room, counter), via: 'arrive' };
  }

  /**
   * For a request that may pass without arriving or checking in (a WebSocket upgrade, which must never take a
   * ticket): the live session its token stands for (renewed by this call, as any activity renews it), or null: no
   * token, a bad one, or an ended session. (A suspended room admits nobody new; sessions already admitted go on.)
   */
  async admittedSession(room: GatewayRoom, credentials: Credentials): Promise<string | null> {
    if (!credentials.token) return null;
    const admission = await this.verifyToken(credentials.token, room.id);
    if (!admission) return null;
    return (await this.store.touch(room.id, admission.sessionId)) !== null ? admission.sessionId : null;
  }

  /** Renews a session by id (a long-lived connection is activity); false once it is over. */
  async renewSession(room: GatewayRoom, sessionId: string): Promise<boolean> {
    return (await this.store.touch(room.id, sessionId)) !== null;
  }

  /** A waiting client's check-in with its ticket; null when the ticket is no good (forged, other room, expired). */
  async checkIn(room: GatewayRoom, rawTicket: string, counter = new RequestCounter()): Promise<GateDecision | null> {
    const ticket = this.verifyTicket(rawTicket, room.id);
    if (!ticket) return null;
    const checked = await counter.run(
      () => this.store.status(room.id, ticket),
      (window) => this.store.statusCounting(room.id, ticket, window),
    );
    if (checked.refused) return { kind: 'throttled', room };
    const status = checked.result;
    switch (status.kind) {
      case 'waiting':
        return { kind: 'wait', room, ticket: rawTicket, position: status.position, newTicket: false };
      case 'admitted':
        // Counted for the campaign whose wave ticket brought this holder, if one did (off the response path).
        void this.attribution.admitted(room, ticket.number);
        return { kind: 'pass', room, sessionId: status.sessionId, token: await this.issue(room, status.sessionId, status.expiresAtMs) };
      case 'unknown':
        return { kind: 'unavailable', room, reason: 'this room is not ready yet' };
      case 'expired':
      case 'invalid':
        return null;
    }
  }

  async arrive(room: GatewayRoom, counter = new RequestCounter()): Promise<GateDecision> {
    const arrived = await counter.run(
      () => this.store.arrive(room.id),
      (window) => this.store.arriveCounting(room.id, window),
    );
    if (arrived.refused) return { kind: 'throttled', room };
    return this.arrivalDecision(room, arrived.result);
  }

  /** What an arrival's script result means (a promise only when a token must be signed: an admitted arrival). */
  private arrivalDecision(room: GatewayRoom, result: ArriveResult): GateDecision | Promise<GateDecision> {
    if (result.kind !== 'unknown') this.traffic.arrived(room.id);
    switch (result.kind) {
      case 'admitted':
        return this.issue(room, result.sessionId, result.expiresAtMs).then((token) => ({
          kind: 'pass',
          room,
          sessionId: result.sessionId,
          token,
        }));
      case 'ticket': {
        // Signed with the issue time the script chose (the Redis clock, at or after the line's start): it tells this
        // line's tickets from those of a line Redis lost (issue #11).
        const ticket = this.tickets.sign({ roomId: room.id, number: result.ticket, issuedAt: result.issuedAt });
        return { kind: 'wait', room, ticket, position: result.position, newTicket: true };
      }
      case 'rejected':
        return { kind: 'rejected', room };
      case 'unknown':
        return { kind: 'unavailable', room, reason: 'this room is not ready yet' };
    }
  }

  /** Leaves the line (ticket) and/or ends the session (token) of this room; true if anything was left. */
  async leave(room: GatewayRoom, credentials: Credentials): Promise<{ ticketLeft: boolean; sessionEnded: boolean; recognised: boolean }> {
    const ticket = credentials.ticket ? this.verifyTicket(credentials.ticket, room.id) : null;
    const admission = credentials.token ? await this.verifyToken(credentials.token, room.id) : null;
    if (!ticket && !admission) return { ticketLeft: false, sessionEnded: false, recognised: false };
    const result = await this.store.leave(room.id, { ticket: ticket ?? undefined, sessionId: admission?.sessionId });
    return { ...result, recognised: true };
  }

  private async issue(room: GatewayRoom, sessionId: string, expiresAtMs: number): Promise<IssuedToken> {
    const expiresAt = Math.floor(expiresAtMs / 1000);
    return { value: await this.tokens.sign({ roomId: room.id, sessionId, expiresAt }), expiresAt: new Date(expiresAt * 1000) };
  }

  private verifyTicket(raw: string, roomId: string) {
    try {
      return this.tickets.verify(raw, roomId);
    } catch (err) {
      if (err instanceof TicketError) return null;
      throw err;
    }
  }

  private async verifyToken(raw: string, roomId: string): Promise<Admission | null> {
    try {
      return await this.verifiedTokens.verify(raw, roomId);
    } catch (err) {
      if (err instanceof AdmissionTokenError) return null;
      throw err;
    }
  }
}

/**
 * Counts one request at most once: the first admission script it runs takes the client's window (and counts the
 * request in the same round trip); any later one in the same request (a fallback from an ended session to the ticket,
 * or to a new arrival) runs uncounted.
 */
class RequestCounter {
  count: ClientCount | undefined;

  constructor(private window?: ClientWindow) {}

  /** Runs the uncounted call, or the counting one if this request has not been counted yet; `refused` when the
   *  client is over its limit (the script decided nothing). */
  async run<T>(
    plain: () => Promise<T>,
    counting: (window: ClientWindow) => Promise<Counted<T>>,
  ): Promise<{ refused: true } | { refused: false; result: T }> {
    const window = this.window;
    if (!window) return { refused: false, result: await plain() };
    this.window = undefined;
    const counted = await counting(window);
    this.count = counted.count;
    return counted.count.blocked ? { refused: true } : { refused: false, result: counted.result as T };
  }
}
