/**
 * What a waiting user gets: for apps (`Accept: application/json`) an object shaped like Cloudflare's
 * `cfWaitingRoom`, plus our own position, ticket and socket URL; for browsers a static page (the same bytes for
 * everyone in the room) whose script fetches that object.
 */
import { roomEtaSeconds } from '@tidegate/admission';
import type { RoomSnapshot } from '@tidegate/contracts';
import type { GatewayRoom } from './room-registry';

export interface WaitingRoomJson {
  inWaitingRoom: true;
  roomId: string;
  roomName: string;
  message: string | null;
  /** Estimated wait in whole minutes (rounded up); null while no admissions measure a rate. */
  waitTime: number | null;
  waitTimeKnown: boolean;
  queueAll: boolean;
  /** The room is closed for now: nobody is admitted; everyone in line keeps their place until it reopens. */
  suspended: boolean;
  /** How often to check in (poll this endpoint, or heartbeat on the socket) to keep the place. */
  refreshIntervalSeconds: number;
  lastUpdated: string;
  position: number;
  aheadOfYou: number;
  /** Seconds until this place is admitted (the room's capacity blended with the measured rate); null: nobody is admitted. */
  etaSeconds: number | null;
  ticket: string;
  /** socket.io endpoint for live updates (`auth: { ticket }`); null when the ws app's URL is not configured. */
  socketUrl: string | null;
  statusUrl: string;
}

export interface AdmittedJson {
  inWaitingRoom: false;
  roomId: string;
  token: string;
  /** ISO time the token expires unless renewed by activity. */
  expiresAt: string;
}

export function waitingJson(args: {
  room: GatewayRoom;
  ticket: string;
  position: number;
  /** The room's latest snapshot on this gateway (undefined before the first). */
  snapshot: RoomSnapshot | undefined;
  graceSeconds: number;
  socketUrl: string | null;
}): WaitingRoomJson {
  const { room, position, snapshot } = args;
  // The room's configured capacity (this gateway's copy, current to the second) blended with the measured rate.
  const { totalActiveUsers, newUsersPerMinute, sessionDurationSeconds } = room.settings;
  const etaSeconds = roomEtaSeconds(position, {
    capacity: { totalActiveUsers, newUsersPerMinute, sessionDurationSeconds },
    active: snapshot?.active ?? totalActiveUsers,
    admittedPerMinute: snapshot?.admittedPerMinute ?? 0,
    oldestTicketAgeSeconds: snapshot?.oldestTicketAgeSeconds ?? 0,
    admissionFactor: snapshot?.origin?.admissionFactor,
  });
  const waitMinutes = etaSeconds === null ? null : Math.max(1, Math.ceil(etaSeconds / 60));
  return {
    inWaitingRoom: true,
    roomId: room.id,
    roomName: room.name,
    message: room.message,
    waitTime: waitMinutes,
    waitTimeKnown: waitMinutes !== null,
    queueAll: room.settings.queueAll,
    suspended: room.settings.suspended,
    refreshIntervalSeconds: Math.max(1, Math.floor(args.graceSeconds / 3)),
    lastUpdated: new Date().toISOString(),
    position,
    aheadOfYou: Math.max(0, position - 1),
    etaSeconds,
    ticket: args.ticket,
    socketUrl: args.socketUrl,
    statusUrl: `/rooms/${room.id}/status`,
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The waiting page of a room. Static: it carries no user state, so any cache may keep it. */
export function waitingPage(room: GatewayRoom): string {
  const name = escapeHtml(room.name);
  const message = room.message ? `<p class="message">${escapeHtml(room.message)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name}: you are in line</title>
<link rel="stylesheet" href="/_tidegate/waiting-room.css">
</head>
<body data-room="${escapeHtml(room.id)}">
<main>
<h1>${name}</h1>
${message}
<div id="live" role="status" aria-live="polite" aria-atomic="true">
<p id="position" hidden>You are <strong id="position-number"></strong> in line</p>
<p id="status">${room.settings.suspended ? 'This room is closed for now. You are in line and keep your place: this page updates by itself when it opens.' : 'You are in line. Keep this page open: it updates by itself.'}</p>
</div>
<p id="wait" hidden>Estimated wait: <span id="wait-time"></span></p>
<progress id="progress" max="100" value="0" aria-label="Progress through the line"></progress>
<noscript><p>This page needs JavaScript to follow your place in line. Reload it now and then to check in.</p></noscript>
</main>
<script src="/_tidegate/socket.io.min.js" defer></script>
<script src="/_tidegate/waiting-room.js" defer></script>
</body>
</html>
`;
}
