/**
 * socket.io events between the ws app and waiting users. Event names carry a version suffix when their payload
 * may change shape (`position.v1`): a new shape gets a new name, and both are emitted while old clients remain.
 */

/** Why the ws app refused a handshake, sent as `connect_error` data. */
export type HandshakeRefusal = 'ticket_missing' | 'ticket_invalid' | 'ticket_expired' | 'ticket_other_room';

export interface PositionUpdate {
  position: number;
  aheadOfYou: number;
  etaSeconds: number | null;
}

export interface ServerToClientEvents {
  'position.v1': (update: PositionUpdate) => void;
  'admitted.v1': (admission: { token: string; expiresAt: string }) => void;
  'roomPaused.v1': (info: { message: string | null }) => void;
  'ticketExpired.v1': () => void;
}

export interface ClientToServerEvents {
  'heartbeat.v1': () => void;
  'leave.v1': () => void;
}

/** The socket.io handshake `auth` a waiting client sends. */
export interface HandshakeAuth {
  ticket?: string;
}
