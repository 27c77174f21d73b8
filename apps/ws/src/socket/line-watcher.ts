import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import type { Socket } from 'socket.io';
import { AdmissionStore, AdmissionTokens, GoneMirror, roomEtaSeconds, type LineView } from '@tidegate/admission';
import type { ClientToServerEvents, PositionUpdate, RoomPauseReason, RoomSnapshot, ServerToClientEvents } from '@tidegate/contracts';
import { MetricsRegistry } from '@tidegate/observability';
import { emitJson } from './emit-json';
import { positionsOf } from './positions';

export const WS_TIMING = Symbol('WS_TIMING');
export interface WsTiming {
  tickMs: number;
  /** The least time between two position updates to one socket. */
  positionIntervalMs: number;
  /** Connected tickets are marked seen this often (a third of the grace period). */
  markSeenMs: number;
}

/** What the ws app keeps per socket (socket.data). */
export interface WaitingSocketData {
  roomId: string;
  ticket: number;
  /** The ticket's issue time (epoch seconds): before the line's start, it is of a line Redis lost (issue #11). */
  issuedAt: number;
  lastPosition: number | null;
  lastEmitAt: number;
  done: boolean;
  /** Where the ticket stood at the handshake: its place, or 0 when its turn had come already. */
  initialPosition: number;
  /** What this socket was last told about the line standing still (undefined: nothing yet, null: it moves). */
  pause?: RoomPauseReason | null;
}

export type WaitingSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, WaitingSocketData>;

/**
 * Watches the lines of the rooms this ws process has sockets in. Per room and tick it asks Redis one small thing
 * (the serving counter, a slice of the gone bitmap, the releaser's snapshot) and works out every local socket's place
 * itself; it sends a socket its position only when it went down, at most once a second, and `admitted.v1` with a
 * token as soon as the releaser has reached its ticket. A position never goes up. When the room is suspended or
 * paused (queue_all) every waiting socket is told so (`roomPaused.v1` with the reason) within a tick of the releaser
 * publishing it, and `roomResumed.v1` when the line moves again. A socket that closes without leaving is reported
 * away at once, so no place is reserved for it while it is gone (it keeps its place in line for the grace period).
 */
@Injectable()
export class LineWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(LineWatcher.name);
  private readonly rooms = new Map<string, Set<WaitingSocket>>();
  /** Each watched room's latest fresh snapshot: what ETAs are computed from. */
  private readonly snapshots = new Map<string, RoomSnapshot>();
  /** Each watched room's copy of its gone bitmap, refreshed per block only where it changed (GoneMirror). */
  private readonly mirrors = new Map<string, GoneMirror>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastMarkSeen = 0;
  private failing = false;
  /** The process is shutting down: its sockets close, but their holders are not away (they reconnect elsewhere). */
  private stopping = false;
  private readonly socketsGauge: Gauge<'room'>;
  private readonly admittedCounter: Counter<'room'>;
  /** Redis commands issued by the last tick (for the benchmark and metrics). */
  lastTickCommands = 0;

  constructor(
    private readonly store: AdmissionStore,
    private readonly tokens: AdmissionTokens,
    @Inject(WS_TIMING) private readonly timing: WsTiming,
    metrics: MetricsRegistry,
  ) {
    this.socketsGauge = new Gauge({
      name: 'tidegate_ws_waiting_sockets',
      help: 'Waiting sockets on this ws process',
      labelNames: ['room'],
      registers: [metrics],
    });
    this.admittedCounter = new Counter({
      name: 'tidegate_ws_admitted_total',
      help: 'admitted.v1 events sent',
      labelNames: ['room'],
      registers: [metrics],
    });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.timing.tickMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopping = true;
    clearInterval(this.timer);
  }

  add(socket: WaitingSocket): void {
    const set = this.rooms.get(socket.data.roomId) ?? new Set();
    set.add(socket);
    this.rooms.set(socket.data.roomId, set);
    this.socketsGauge.set({ room: socket.data.roomId }, set.size);
  }

  /** Stops watching a socket; one that was still waiting (it closed without leaving) is reported away. */
  remove(socket: WaitingSocket): void {
    const d = socket.data;
    const set = this.rooms.get(d.roomId);
    if (!set?.delete(socket)) return;
    this.socketsGauge.set({ room: d.roomId }, set.size);
    if (set.size === 0) {
      this.rooms.delete(d.roomId);
      this.snapshots.delete(d.roomId);
      this.mirrors.delete(d.roomId);
    }
    if (!d.done && !this.stopping) {
      this.store
        .away(d.roomId, { number: d.ticket, issuedAt: d.issuedAt })
        .catch((err: unknown) =>
          this.logger.warn(`could not mark ticket ${d.ticket} away: ${err instanceof Error ? err.message : String(err)}`),
        );
    }
  }

  /**
   * The wait of `position` in the room by its latest fresh snapshot (capacity blended with the measured rate:
   * libs/admission roomEtaSeconds); null before the first snapshot, or when the room admits nobody.
   */
  private etaOf(roomId: string, position: number): number | null {
    const snapshot = this.snapshots.get(roomId);
    if (!snapshot) return null;
    return roomEtaSeconds(position, {
      capacity: snapshot.capacity,
      active: snapshot.active,
      admittedPerMinute: snapshot.admittedPerMinute,
      oldestTicketAgeSeconds: snapshot.oldestTicketAgeSeconds,
      admissionFactor: snapshot.origin?.admissionFactor,
    });
  }

  /** Sends a position if it went down and the socket has not had one in the last second (or never). */
  sendPosition(socket: WaitingSocket, position: number, now = Date.now()): PositionUpdate | null {
    const d = socket.data;
    const best = d.lastPosition === null ? position : Math.min(d.lastPosition, position);
    const update = { position: best, aheadOfYou: best - 1, etaSeconds: this.etaOf(d.roomId, best) };
    if (d.lastPosition !== null && (best >= d.lastPosition || now - d.lastEmitAt < this.timing.positionIntervalMs)) return update;
    d.lastPosition = best;
    d.lastEmitAt = now;
    emitJson(socket, 'position.v1', update);
    return update;
  }

  /** Claims the session reserved for this socket's ticket and sends the token; or tells it the ticket expired. */
  async admit(socket: WaitingSocket): Promise<void> {
    const d = socket.data;
    const status = await this.store.status(d.roomId, { number: d.ticket, issuedAt: d.issuedAt });
    if (status.kind === 'admitted') {
      d.done = true;
      const expiresAt = Math.floor(status.expiresAtMs / 1000);
      const token = await this.tokens.sign({ roomId: d.roomId, sessionId: status.sessionId, expiresAt });
      socket.emit('admitted.v1', { token, expiresAt: new Date(expiresAt * 1000).toISOString() });
      this.admittedCounter.inc({ room: d.roomId });
      this.remove(socket);
    } else if (status.kind === 'expired' || status.kind === 'invalid') {
      d.done = true;
      socket.emit('ticketExpired.v1');
      this.remove(socket);
      socket.disconnect(true);
    } else if (status.kind === 'waiting') {
      this.sendPosition(socket, status.position);
    }
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    let commands = 0;
    try {
      const markSeen = Date.now() - this.lastMarkSeen >= this.timing.markSeenMs;
      if (markSeen) this.lastMarkSeen = Date.now();
      await Promise.all(
        [...this.rooms].map(async ([roomId, sockets]) => {
          commands += await this.tickRoom(roomId, [...sockets], markSeen);
        }),
      );
      if (this.failing) this.logger.log('watching the lines works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing)
        this.logger.warn(`watching the lines failed: ${err instanceof Error ? err.message : String(err)}; retrying every tick`);
      this.failing = true;
    } finally {
      this.lastTickCommands = commands;
      this.running = false;
    }
  }

  /** One room's tick; returns the Redis commands it issued. */
  private async tickRoom(roomId: string, sockets: WaitingSocket[], markSeen: boolean): Promise<number> {
    const waiting = sockets.filter((s) => !s.data.done);
    if (waiting.length === 0) return 0;
    let commands = 0;
    let maxTicket = 0; // a loop, not Math.max(...spread): a room may hold more sockets than the call stack takes
    for (const s of waiting) if (s.data.ticket > maxTicket) maxTicket = s.data.ticket;
    let mirror = this.mirrors.get(roomId);
    if (!mirror) this.mirrors.set(roomId, (mirror = new GoneMirror()));
    const view: LineView = await this.store.lineView(roomId, maxTicket, mirror);
    commands += 4;
    const snapshot = view.snapshot?.fresh ? view.snapshot.snapshot : undefined;
    if (snapshot) this.snapshots.set(roomId, snapshot);
    else this.snapshots.delete(roomId);
    // A stale snapshot (no gateway publishing) says nothing about a pause: sockets keep what they were told.
    if (snapshot) this.announcePause(waiting, snapshot.suspended ? 'suspended' : snapshot.queueAll ? 'queue_all' : null);
    // Its turn came, or its ticket is of a line lost before this one (Redis lost its data): status claims the session,
    // or answers expired (the holder is told to queue again).
    const settle = (s: WaitingSocket) => s.data.ticket <= view.serving || s.data.issuedAt < view.line;
    const turnCame = waiting.filter(settle);
    await Promise.all(turnCame.map((s) => this.admit(s)));
    commands += turnCame.length;
    const stillWaiting = waiting.filter((s) => !settle(s));
    const positions = positionsOf(
      stillWaiting.map((s) => s.data.ticket),
      view.serving,
      view.gone,
    );
    const now = Date.now();
    for (const [i, socket] of stillWaiting.entries()) {
      const position = positions.get(socket.data.ticket);
      if (position !== undefined) this.sendPosition(socket, position, now);
      // When the whole line moves, give handshakes and heartbeats a turn every thousand sockets.
      if (i % 1000 === 999) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (markSeen) {
      await this.store.markSeen(
        roomId,
        stillWaiting.map((s) => s.data.ticket),
      );
      commands += 2;
    }
    return commands;
  }

  /** Tells each waiting socket whether the line stands still and why, once per change (newcomers included). */
  private announcePause(sockets: readonly WaitingSocket[], reason: RoomPauseReason | null): void {
    for (const s of sockets) {
      const told = s.data.pause;
      if (told === reason || (told === undefined && reason === null)) continue;
      s.data.pause = reason;
      if (reason) s.emit('roomPaused.v1', { reason, message: null });
      else s.emit('roomResumed.v1');
    }
  }
}
