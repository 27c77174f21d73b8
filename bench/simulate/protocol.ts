/** Messages between the simulator and its user processes (IPC), and what each simulated user records. */
import type { ForwardedPush } from '@tidegate/push';

export interface UsersConfig {
  type: 'config';
  gatewayUrls: string[];
  wsUrls: string[];
  roomId: string;
  /** The protected path prefix users visit, e.g. `/shop`. */
  pathPrefix: string;
  sessionSeconds: number;
  openModel: { openRate: number; medianSeconds: number; sigma: number; maxSeconds: number };
  seed: number;
}

export type ToUsers =
  UsersConfig | { type: 'pushes'; messages: ForwardedPush[] } | { type: 'state?' } | { type: 'report?' } | { type: 'stop' };

export interface UsersState {
  type: 'state';
  received: number;
  /** Opens still to come (delay not yet elapsed). */
  scheduled: number;
  /** Users between their tap and their leaving. */
  inProgress: number;
  waiting: number;
  done: number;
}

/** One simulated user who opened the push (times in ms since the epoch). */
export interface UserRecord {
  deviceId: string;
  sentAt: number;
  openedAt: number;
  /** The gateway's first answer. */
  arrivedAt: number | null;
  /** Their ticket's number when told to wait; null when admitted at once. */
  ticket: number | null;
  /** First ETA shown (seconds) and when: the JSON's etaSeconds, else the socket's first position.v1. */
  firstEtaSeconds: number | null;
  firstEtaAt: number | null;
  admittedAt: number | null;
  leftAt: number | null;
  /** How they learned of their turn: `direct` (in at once), `socket` (admitted.v1) or `poll` (status after a socket refusal). */
  via: 'direct' | 'socket' | 'poll' | null;
  positions: number;
  /** Position updates that went up (must be 0). */
  positionIncreases: number;
  /** Times the socket dropped while waiting (socket.io reconnects; meanwhile the ticket counts as away). */
  disconnects: number;
  /** What went wrong, if anything (then they are not lost: they got an error). */
  error: string | null;
}

export interface UsersReport {
  type: 'report';
  records: UserRecord[];
  state: UsersState;
}
