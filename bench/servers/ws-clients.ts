/**
 * Many socket.io clients in one process, driven over IPC by the ws benchmark (bench/ws.ts). Several of these run
 * side by side, so that tens of thousands of client sockets are spread over more than one event loop and file
 * descriptor table. Sockets are grouped by `target` (the server they talk to).
 *
 * Messages (each answered with one reply):
 *   { type: 'connect', target, url, auths?, count, batch, deadlineMs, localAddress? }
 *       opens `count` sockets (`auths[i]` as the handshake auth of socket i), `batch` at a time, each batch waiting
 *       until all of its sockets connected or failed; stops at the deadline. Reply `connected`.
 *   { type: 'state?', target }         reply `state`: connected sockets, those that have a position, lost ones.
 *   { type: 'arm', target, drop? }     every connected socket remembers its current position (none: infinity).
 *                                      Reply `armed`. With `drop`, the update is expected to lower every position
 *                                      by exactly that much; `wait` counts the sockets told anything else.
 *   { type: 'wait', target, timeoutMs } resolves when every armed socket still connected received a `position.v1`
 *                                      lower than when armed; reply `received` with the receipt times (Date.now())
 *                                      of those that did, and `wrong`: how many got a position other than expected.
 *   { type: 'close', target }          closes the target's sockets; reply `closed`.
 *
 * The process exits when its IPC channel closes (the benchmark ended or died) or on SIGTERM.
 */
import { io, type Socket } from 'socket.io-client';

interface Conn {
  socket: Socket;
  connected: boolean;
  lastPosition: number | null;
  /** The position when armed; a lower one counts as received. */
  armedFrom: number | null;
  receivedAt: number | null;
  /** The first lower position received after arming. */
  received: number | null;
}

interface Group {
  conns: Conn[];
  lost: number;
  admitted: number;
  expired: number;
  /** Armed sockets still connected that have not received a lower position yet. */
  outstanding: number;
  onAllReceived: (() => void) | null;
  /** What every position is expected to go down by in this round, if known. */
  drop: number | null;
}

type Message =
  | {
      type: 'connect';
      target: string;
      url: string;
      auths?: Array<Record<string, string>>;
      count: number;
      batch: number;
      deadlineMs: number;
      localAddress?: string;
    }
  | { type: 'state?'; target: string }
  | { type: 'arm'; target: string; drop?: number }
  | { type: 'wait'; target: string; timeoutMs: number }
  | { type: 'close'; target: string };

const groups = new Map<string, Group>();
const send = (message: object) => process.send?.(message);

function group(target: string): Group {
  let g = groups.get(target);
  if (!g) {
    g = { conns: [], lost: 0, admitted: 0, expired: 0, outstanding: 0, onAllReceived: null, drop: null };
    groups.set(target, g);
  }
  return g;
}

/** One armed socket no longer holds up the wait (it received the update, or it is gone). */
function settle(g: Group): void {
  g.outstanding--;
  if (g.outstanding === 0) g.onAllReceived?.();
}

/** One socket: resolves with null once connected, or with the reason it was refused or failed. */
function open(g: Group, url: string, auth: Record<string, string> | undefined, localAddress: string | undefined): Promise<string | null> {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 20_000,
    auth,
    ...(localAddress ? { localAddress } : {}),
  });
  const conn: Conn = { socket, connected: false, lastPosition: null, armedFrom: null, receivedAt: null, received: null };
  socket.on('position.v1', (update: { position: number }) => {
    const p = update.position;
    conn.lastPosition = conn.lastPosition === null ? p : Math.min(conn.lastPosition, p);
    if (conn.armedFrom !== null && conn.receivedAt === null && p < conn.armedFrom) {
      conn.receivedAt = Date.now();
      conn.received = p;
      settle(g);
    }
  });
  socket.on('admitted.v1', () => g.admitted++);
  socket.on('ticketExpired.v1', () => g.expired++);
  return new Promise((resolve) => {
    socket.once('connect', () => {
      conn.connected = true;
      g.conns.push(conn);
      socket.on('disconnect', () => {
        if (!conn.connected) return;
        conn.connected = false;
        g.lost++;
        // A socket that is gone will not receive anything: it no longer holds up the wait.
        if (conn.armedFrom !== null && conn.receivedAt === null) {
          conn.armedFrom = null;
          settle(g);
        }
      });
      resolve(null);
    });
    socket.once('connect_error', (err: Error & { data?: { reason?: string } }) => {
      socket.close();
      resolve(err.data?.reason ?? err.message);
    });
  });
}

async function connect(m: Extract<Message, { type: 'connect' }>): Promise<object> {
  const g = group(m.target);
  const started = Date.now();
  const failures: Record<string, number> = {};
  let connected = 0;
  let failed = 0;
  let attempted = 0;
  let timedOut = false;
  while (attempted < m.count) {
    if (Date.now() - started > m.deadlineMs) {
      timedOut = true;
      break;
    }
    const n = Math.min(m.batch, m.count - attempted);
    const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => open(g, m.url, m.auths?.[attempted + i], m.localAddress)));
    attempted += n;
    for (const reason of outcomes) {
      if (reason === null) connected++;
      else {
        failed++;
        failures[reason] = (failures[reason] ?? 0) + 1;
      }
    }
    send({ type: 'progress', target: m.target, connected, failed });
  }
  return { type: 'connected', target: m.target, connected, failed, failures, timedOut, seconds: (Date.now() - started) / 1000 };
}

function state(target: string): object {
  const g = group(target);
  let connected = 0;
  let withPosition = 0;
  for (const c of g.conns) {
    if (!c.connected) continue;
    connected++;
    if (c.lastPosition !== null) withPosition++;
  }
  return { type: 'state', target, connected, withPosition, lost: g.lost, admitted: g.admitted, expired: g.expired };
}

function arm(target: string, drop: number | undefined): object {
  const g = group(target);
  g.outstanding = 0;
  g.onAllReceived = null;
  g.drop = drop ?? null;
  for (const c of g.conns) {
    c.receivedAt = null;
    c.received = null;
    c.armedFrom = null;
    if (!c.connected) continue;
    c.armedFrom = c.lastPosition ?? Infinity;
    g.outstanding++;
  }
  return { type: 'armed', target, armed: g.outstanding };
}

async function wait(target: string, timeoutMs: number): Promise<object> {
  const g = group(target);
  let timedOut = false;
  if (g.outstanding > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, timeoutMs);
      g.onAllReceived = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  g.onAllReceived = null;
  const times: number[] = [];
  let missing = 0;
  let wrong = 0;
  for (const c of g.conns) {
    if (c.armedFrom === null) continue;
    if (c.receivedAt === null) missing++;
    else times.push(c.receivedAt);
    if (g.drop !== null && c.received !== null && c.received !== c.armedFrom - g.drop) wrong++;
  }
  return { type: 'received', target, times, missing, wrong, timedOut, lost: g.lost };
}

function close(target: string): object {
  const g = group(target);
  for (const c of g.conns) {
    c.connected = false;
    c.socket.close();
  }
  groups.delete(target);
  return { type: 'closed', target };
}

process.on('message', (message: Message) => {
  void (async () => {
    try {
      switch (message.type) {
        case 'connect':
          send(await connect(message));
          break;
        case 'state?':
          send(state(message.target));
          break;
        case 'arm':
          send(arm(message.target, message.drop));
          break;
        case 'wait':
          send(await wait(message.target, message.timeoutMs));
          break;
        case 'close':
          send(close(message.target));
          break;
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  })();
});

const stop = () => {
  for (const target of [...groups.keys()]) close(target);
  setTimeout(() => process.exit(0), 200).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', () => process.exit(0));
send({ type: 'ready' });
