/**
 * socket.io events between the ws app and waiting users. Event names carry a version suffix when their payload
 * may change shape (`position.v1`): a new shape gets a new name, and both are emitted while old clients remain.
 * Every server-to-client event goes to one socket only (its own ticket), except `roomPaused.v1`/`roomResumed.v1`,
 * which carry nothing about any user.
 */

/** Why the ws app refused a handshake, sent as `connect_error` data (`err.data.reason`). */
export type HandshakeRefusal =
  'ticket_missing' | 'ticket_invalid' | 'ticket_expired' | 'ticket_other_room' | 'room_unknown' | 'server_full' | 'unavailable';

export interface PositionUpdate {
  /** 1 = next in line. Never goes up. */
  position: number;
  aheadOfYou: number;
  /** Estimated wait from the measured admission rate; null while nobody is being admitted. */
  etaSeconds: number | null;
}

/**
 * Why the line is not moving: `queue_all` (an SRE's emergency brake: the line is paused for a moment) or `suspended`
 * (the room is closed for now: nobody is admitted; everyone keeps their place in line until it reopens).
 */
export type RoomPauseReason = 'queue_all' | 'suspended';

export interface RoomPaused {
  reason: RoomPauseReason;
  message: string | null;
}

export interface Admitted {
  /** The admission token (ES256 JWT); send it as X-Tidegate-Token, or let the page's status call set its cookie. */
  token: string;
  expiresAt: string;
}

/**
 * An event from the client was dropped: the socket sent that kind of event faster than its limit (a token bucket per
 * socket and event kind). Sent once per run of dropped events; `disconnecting` when the socket kept flooding and the
 * server closes it now.
 */
export interface RateLimited {
  /** The event that was dropped (`heartbeat.v1`, `leave.v1`, or `other` for events the server does not know). */
  event: string;
  /** Events of this kind a socket may send per second, sustained, and at once. */
  perSecond: number;
  burst: number;
  /** When the next event of this kind would be accepted. */
  retryAfterMs: number;
  disconnecting: boolean;
  message: string;
}

export interface ServerToClientEvents {
  'position.v1': (update: PositionUpdate) => void;
  'admitted.v1': (admission: Admitted) => void;
  /** The line is not moving for now (`reason`: queue_all or suspended); sent again if the reason changes. */
  'roomPaused.v1': (info: RoomPaused) => void;
  'roomResumed.v1': () => void;
  /** The ticket's turn came and went, or it was skipped after its holder went silent: join again. */
  'ticketExpired.v1': () => void;
  /** An event of this socket was dropped for coming too fast (see RateLimited). */
  'rateLimited.v1': (info: RateLimited) => void;
}

export interface ClientToServerEvents {
  /** Optional: the open connection keeps the ticket alive by itself. Acknowledged with the current position. */
  'heartbeat.v1': (ack?: (update: PositionUpdate | null) => void) => void;
  /** Leave the line; the people behind move up at once. The server disconnects the socket. */
  'leave.v1': () => void;
}

/** The socket.io handshake `auth` a waiting client sends. */
export interface HandshakeAuth {
  /** The ticket from the gateway (JSON `ticket`). */
  ticket?: string;
  /** The room the client means to wait in; refused if the ticket belongs to another room. */
  room?: string;
}
