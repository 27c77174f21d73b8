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

/** The room's configured capacity (this gateway's copy, current to the second) blended with the measured rate. */
function etaInput(args: { room: GatewayRoom; snapshot: RoomSnapshot | undefined }): Parameters<typeof roomEtaSeconds>[1] {
  const { snapshot } = args;
  const { totalActiveUsers, newUsersPerMinute, sessionDurationSeconds } = args.room.settings;
  return {
    capacity: { totalActiveUsers, newUsersPerMinute, sessionDurationSeconds },
    active: snapshot?.active ?? totalActiveUsers,
    admittedPerMinute: snapshot?.admittedPerMinute ?? 0,
    oldestTicketAgeSeconds: snapshot?.oldestTicketAgeSeconds ?? 0,
    admissionFactor: snapshot?.origin?.admissionFactor,
  };
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
  const { room, position } = args;
  const etaSeconds = roomEtaSeconds(position, etaInput(args));
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

type WaitingArgs = Parameters<typeof waitingJson>[0];

/** The parts of a room's waiting JSON that do not change per request, with the inputs they were made of. */
interface WaitingTemplate {
  id: string;
  name: string;
  message: string | null;
  queueAll: boolean;
  suspended: boolean;
  graceSeconds: number;
  socketUrl: string | null;
  head: string;
  middle: string;
  tail: string;
}

const templates = new WeakMap<GatewayRoom, WaitingTemplate>();

/** A number as JSON.stringify writes it (null for NaN and the infinities). */
const jsonNumber = (n: number | null): string => (n !== null && Number.isFinite(n) ? String(n) : 'null');

function templateOf(room: GatewayRoom, graceSeconds: number, socketUrl: string | null): WaitingTemplate {
  const t = templates.get(room);
  const { queueAll, suspended } = room.settings;
  if (
    t?.id === room.id &&
    t.name === room.name &&
    t.message === room.message &&
    t.queueAll === queueAll &&
    t.suspended === suspended &&
    t.graceSeconds === graceSeconds &&
    t.socketUrl === socketUrl
  ) {
    return t;
  }
  const made: WaitingTemplate = {
    id: room.id,
    name: room.name,
    message: room.message,
    queueAll,
    suspended,
    graceSeconds,
    socketUrl,
    head: `{"inWaitingRoom":true,"roomId":${JSON.stringify(room.id)},"roomName":${JSON.stringify(room.name)},"message":${JSON.stringify(room.message)},"waitTime":`,
    middle: `,"queueAll":${queueAll},"suspended":${suspended},"refreshIntervalSeconds":${Math.max(1, Math.floor(graceSeconds / 3))},"lastUpdated":`,
    tail: `,"socketUrl":${JSON.stringify(socketUrl)},"statusUrl":${JSON.stringify(`/rooms/${room.id}/status`)}}`,
  };
  templates.set(room, made);
  return made;
}

/** `new Date().toISOString()`, made once per millisecond (a surge answers several requests in the same one). */
let isoMs = -1;
let isoText = '';
function nowIso(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/**
 * `JSON.stringify(waitingJson(args))`, byte for byte (property-tested), written around a per-room template: every
 * waiting answer (each arrival and poll of a surge) is one of these (issue #12).
 */
export function waitingJsonText(args: WaitingArgs): string {
  const { position } = args;
  const t = templateOf(args.room, args.graceSeconds, args.socketUrl);
  const etaSeconds = roomEtaSeconds(position, etaInput(args));
  const waitMinutes = etaSeconds === null ? null : Math.max(1, Math.ceil(etaSeconds / 60));
  return (
    t.head +
    jsonNumber(waitMinutes) +
    `,"waitTimeKnown":${waitMinutes !== null}` +
    t.middle +
    `"${nowIso()}","position":${jsonNumber(position)},"aheadOfYou":${jsonNumber(Math.max(0, position - 1))}` +
    `,"etaSeconds":${jsonNumber(etaSeconds)},"ticket":${JSON.stringify(args.ticket)}` +
    t.tail
  );
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
