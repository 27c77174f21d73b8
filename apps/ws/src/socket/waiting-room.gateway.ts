import { Inject, Logger } from '@nestjs/common';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway, type OnGatewayDisconnect, type OnGatewayInit } from '@nestjs/websockets';
import { Counter, Gauge } from 'prom-client';
import type { Server } from 'socket.io';
import { AdmissionStore, TicketError, TicketSigner, type StatusResult, type Ticket } from '@tidegate/admission';
import type { ClientToServerEvents, HandshakeAuth, HandshakeRefusal, PositionUpdate, ServerToClientEvents } from '@tidegate/contracts';
import { MetricsRegistry } from '@tidegate/observability';
import { REDIS, type RedisClient } from '@tidegate/redis';
import { SocketEventLimiter, type EventLimits } from './event-limiter';
import { LineWatcher, type WaitingSocket, type WaitingSocketData } from './line-watcher';
import { RedisReadyWait } from './redis-ready';

export type WaitingRoomServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, WaitingSocketData>;

export const WS_MAX_SOCKETS = Symbol('WS_MAX_SOCKETS');
export const WS_EVENT_LIMITS = Symbol('WS_EVENT_LIMITS');

/** The events a client may send (ClientToServerEvents); each has its own bucket, anything else shares one. */
const CLIENT_EVENTS: ReadonlySet<string> = new Set<keyof ClientToServerEvents>(['heartbeat.v1', 'leave.v1']);

/**
 * How long a handshake waits for the Redis connection when it is not ready (the process just started, or Redis is
 * coming back) before it is refused as `unavailable`: a user is placed a moment later rather than sent away.
 */
export const HANDSHAKE_REDIS_WAIT_MS = 3000;

/** A handshake error whose `data.reason` tells the client why it was refused. */
export function refusal(reason: HandshakeRefusal, message: string): Error & { data: { reason: HandshakeRefusal } } {
  return Object.assign(new Error(message), { data: { reason } });
}

const TICKET_REFUSAL: Record<TicketError['problem'], HandshakeRefusal> = {
  malformed: 'ticket_invalid',
  forged: 'ticket_invalid',
  other_room: 'ticket_other_room',
  expired: 'ticket_expired',
};

/**
 * The waiting room's socket endpoint. A client connects with `auth: { ticket, room }` (the ticket from the
 * gateway); a missing, forged, expired or other-room ticket is refused at the handshake with a reason. Each socket
 * hears only about its own ticket: its position, and `admitted.v1` with its token when its turn comes. Each socket's
 * events are rate-limited per kind before any handler runs (see SocketEventLimiter): a flooding socket is told
 * (`rateLimited.v1`) and then disconnected, so it cannot stall the process for everyone else. A handshake that
 * arrives while the Redis connection is not ready waits for it (HANDSHAKE_REDIS_WAIT_MS at most).
 */
@WebSocketGateway({ path: '/socket.io' })
export class WaitingRoomGateway implements OnGatewayInit, OnGatewayDisconnect {
  private readonly logger = new Logger(WaitingRoomGateway.name);

  private server: WaitingRoomServer | undefined;
  private readonly dropped: Counter<'event'>;
  private readonly floodDisconnects: Counter;
  private readonly waitingForRedis: Gauge;
  private readonly redisReady: RedisReadyWait;

  constructor(
    private readonly tickets: TicketSigner,
    private readonly store: AdmissionStore,
    private readonly watcher: LineWatcher,
    @Inject(WS_MAX_SOCKETS) private readonly maxSockets: number | null,
    @Inject(WS_EVENT_LIMITS) private readonly eventLimits: EventLimits,
    metrics: MetricsRegistry,
    @Inject(REDIS) redis: RedisClient,
  ) {
    this.redisReady = new RedisReadyWait(redis);
    this.waitingForRedis = new Gauge({
      name: 'tidegate_ws_handshakes_waiting_for_redis',
      help: 'Handshakes held until the Redis connection is ready (the process started, or Redis is coming back)',
      registers: [metrics],
    });
    this.dropped = new Counter({
      name: 'tidegate_ws_events_dropped_total',
      help: 'Client events dropped for exceeding the per-socket limit, by event',
      labelNames: ['event'],
      registers: [metrics],
    });
    this.floodDisconnects = new Counter({
      name: 'tidegate_ws_flood_disconnects_total',
      help: 'Sockets disconnected for flooding events',
      registers: [metrics],
    });
  }

  afterInit(server: WaitingRoomServer): void {
    this.server = server;
    server.use((socket, next) => {
      this.handshake(socket).then(
        () => next(),
        (err: Error) => next(err),
      );
    });
    server.on('connection', (socket: WaitingSocket) => this.onConnection(socket));
    this.logger.log('socket.io ready');
  }

  /** Verifies the ticket and asks Redis where it stands; sets socket.data or throws a refusal. */
  private async handshake(socket: WaitingSocket): Promise<void> {
    if (this.maxSockets !== null && (this.server?.engine.clientsCount ?? 0) > this.maxSockets) {
      throw refusal('server_full', 'this ws process holds as many sockets as it may; check in over HTTP, or retry shortly');
    }
    const auth = (socket.handshake.auth ?? {}) as HandshakeAuth;
    if (typeof auth.ticket !== 'string' || auth.ticket === '') {
      throw refusal('ticket_missing', 'a ticket is required: pass { auth: { ticket, room } } when connecting');
    }
    const roomId = typeof auth.room === 'string' && auth.room !== '' ? auth.room : (auth.ticket.split('.', 1)[0] ?? '');
    let ticket: Ticket;
    try {
      ticket = this.tickets.verify(auth.ticket, roomId);
    } catch (err) {
      if (err instanceof TicketError) throw refusal(TICKET_REFUSAL[err.problem], err.message);
      throw err;
    }
    if (!(await this.redisReadyForHandshake())) throw refusal('unavailable', 'the waiting room is unavailable; retry shortly');
    let status: StatusResult;
    try {
      status = await this.store.status(ticket.roomId, ticket);
    } catch {
      throw refusal('unavailable', 'the waiting room is unavailable; retry shortly');
    }
    if (status.kind === 'unknown') throw refusal('room_unknown', `no room ${ticket.roomId}`);
    if (status.kind === 'expired' || status.kind === 'invalid') {
      throw refusal('ticket_expired', 'this ticket is no longer in line (its turn passed, or it was skipped): join again');
    }
    const initialPosition = status.kind === 'waiting' ? status.position : 0;
    socket.data = {
      roomId: ticket.roomId,
      ticket: ticket.number,
      issuedAt: ticket.issuedAt,
      lastPosition: null,
      lastEmitAt: 0,
      done: false,
      initialPosition,
    };
  }

  private async redisReadyForHandshake(): Promise<boolean> {
    if (this.redisReady.isReady()) return true;
    this.waitingForRedis.inc();
    try {
      return await this.redisReady.wait(HANDSHAKE_REDIS_WAIT_MS);
    } finally {
      this.waitingForRedis.dec();
    }
  }

  private onConnection(socket: WaitingSocket): void {
    this.limitEvents(socket);
    this.watcher.add(socket);
    // Tell the newcomer where it stands right away, or admit it if its turn had come already.
    if (socket.data.initialPosition > 0) this.watcher.sendPosition(socket, socket.data.initialPosition);
    else
      void this.watcher
        .admit(socket)
        .catch((err: unknown) => this.logger.warn(`admission failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Runs before every handler: an event over its socket's limit is dropped (its ack never called) and told about. */
  private limitEvents(socket: WaitingSocket): void {
    const limiter = new SocketEventLimiter(this.eventLimits, CLIENT_EVENTS);
    const { perSecond, burst } = this.eventLimits;
    socket.use(([event], next) => {
      if (!socket.connected) return; // disconnected for flooding: what was already read goes nowhere
      const name = String(event);
      const verdict = limiter.check(name, Date.now());
      if (verdict.kind === 'accept') return next();
      const kind = limiter.kindOf(name);
      this.dropped.inc({ event: kind });
      const disconnecting = verdict.kind === 'disconnect';
      if (disconnecting || verdict.tell) {
        socket.emit('rateLimited.v1', {
          event: kind,
          perSecond,
          burst,
          retryAfterMs: verdict.retryAfterMs,
          disconnecting,
          message: disconnecting
            ? `${kind} sent far faster than ${perSecond} per second: disconnected for flooding`
            : `${kind} sent faster than ${perSecond} per second (bursts of ${burst}): dropped; retry in ${verdict.retryAfterMs} ms`,
        });
      }
      if (disconnecting) {
        this.floodDisconnects.inc();
        this.logger.warn(`disconnected a socket of room ${socket.data.roomId} for flooding ${kind}`);
        socket.disconnect(true);
      }
    });
  }

  handleDisconnect(socket: WaitingSocket): void {
    this.watcher.remove(socket);
  }

  @SubscribeMessage('heartbeat.v1')
  heartbeat(@ConnectedSocket() socket: WaitingSocket): PositionUpdate | null {
    const position = socket.data.lastPosition;
    return position === null ? null : { position, aheadOfYou: position - 1, etaSeconds: null };
  }

  @SubscribeMessage('leave.v1')
  async leave(@ConnectedSocket() socket: WaitingSocket): Promise<void> {
    socket.data.done = true;
    this.watcher.remove(socket);
    const { ticket, issuedAt } = socket.data;
    await this.store.leave(socket.data.roomId, { ticket: { number: ticket, issuedAt } }).catch(() => undefined);
    socket.disconnect(true);
  }
}
