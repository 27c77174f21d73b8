/**
 * One simulated person: taps the push after their delay, enters through a gateway with the push's wave ticket, waits
 * on a real socket.io connection to a ws app when told to (falling back to polling the status route if the socket is
 * refused), visits the origin as an admitted user for a session, and leaves (the origin's goodbye, then the gateway's
 * leave route, which frees the place at once).
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, PositionUpdate, ServerToClientEvents } from '@tidegate/contracts';
import { httpRequest } from './http-client';
import type { UserRecord, UsersConfig } from './protocol';

const REQUEST_TIMEOUT_MS = 15_000;
const POLL_MS = 1000;

export interface UserContext {
  config: UsersConfig;
  gatewayUrl: string;
  wsUrl: string;
  /** Aborted when the run stops: the user closes everything and gives up where they are. */
  signal: AbortSignal;
  onWaiting(delta: number): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** The ticket's number: `<room>.<number>.<issuedAt>.<mac>`. */
const ticketNumber = (ticket: string) => Number(ticket.split('.')[1]);

type Json = Record<string, unknown>;

export async function simulateUser(ctx: UserContext, record: UserRecord, waveTicket: string | null): Promise<void> {
  const { config, gatewayUrl } = ctx;
  const deviceHeader = `sim-device-${record.deviceId}`;
  const base = { accept: 'application/json', 'x-device-id': deviceHeader };
  const page = (token: string | null, what: string) =>
    httpRequest(
      'GET',
      `${gatewayUrl}${config.pathPrefix}/${what}?device=${record.deviceId}`,
      { ...base, ...(token && { 'x-tidegate-token': token }), ...(!token && waveTicket && { 'x-wave-ticket': waveTicket }) },
      REQUEST_TIMEOUT_MS,
    );

  // The tap.
  record.openedAt = Date.now();
  let first;
  try {
    first = await page(null, 'page');
  } catch (err) {
    record.error = `gateway: ${(err as Error).message}`;
    return;
  }
  record.arrivedAt = Date.now();
  let token: string | null;
  if (first.status === 200 && first.headers['x-origin'] === 'sim') {
    token = (first.headers['x-tidegate-token'] as string | undefined) ?? null;
    record.admittedAt = record.arrivedAt;
    record.via = 'direct';
    if (!token) {
      record.error = 'admitted without a token';
      return;
    }
  } else if (first.status === 200) {
    const json = JSON.parse(first.body) as Json;
    if (json.inWaitingRoom !== true || typeof json.ticket !== 'string') {
      record.error = `unexpected answer: ${first.body.slice(0, 120)}`;
      return;
    }
    record.ticket = ticketNumber(json.ticket);
    if (typeof json.etaSeconds === 'number') {
      record.firstEtaSeconds = json.etaSeconds;
      record.firstEtaAt = record.arrivedAt;
    }
    ctx.onWaiting(1);
    try {
      token = await waitForTurn(ctx, record, json.ticket, typeof json.position === 'number' ? json.position : null);
    } finally {
      ctx.onWaiting(-1);
    }
    if (!token) return; // an error was recorded, or the run stopped
    record.admittedAt = Date.now();
  } else {
    record.error = `gateway answered ${first.status}`;
    return;
  }

  // The session: a page at once (the origin counts the session from it), one every third of the session, goodbye.
  try {
    // The gateway re-signs a token past half its life: the app keeps the newest one it was given.
    const visit = async (what: string) => {
      const res = await page(token, what);
      const renewed = res.headers['x-tidegate-token'];
      if (typeof renewed === 'string' && renewed) token = renewed;
      if (res.headers['x-origin'] !== 'sim') throw new Error(`${what}: the gateway answered ${res.status} instead of the origin`);
    };
    if (record.via !== 'direct') await visit('page');
    const stepMs = (config.sessionSeconds * 1000) / 3;
    for (let i = 1; i < 3 && !ctx.signal.aborted; i++) {
      await sleep(stepMs, ctx.signal);
      await visit('page');
    }
    await sleep(stepMs, ctx.signal);
    await visit('bye');
    const left = await httpRequest(
      'POST',
      `${gatewayUrl}/rooms/${config.roomId}/leave`,
      { ...base, 'x-tidegate-token': token },
      REQUEST_TIMEOUT_MS,
    );
    if (left.status >= 300) record.error = `leave answered ${left.status}`;
    record.leftAt = Date.now();
  } catch (err) {
    record.error = `session: ${(err as Error).message}`;
  }
}

/** Waits on the socket (or by polling once the socket is refused) until admitted: the token, or null. */
function waitForTurn(ctx: UserContext, record: UserRecord, ticket: string, position: number | null): Promise<string | null> {
  let last = position ?? Number.POSITIVE_INFINITY;
  const seen = (update: PositionUpdate | { position?: unknown; etaSeconds?: unknown }) => {
    if (typeof update.position !== 'number') return;
    record.positions++;
    if (update.position > last) record.positionIncreases++;
    last = Math.min(last, update.position);
    if (record.firstEtaSeconds === null && typeof update.etaSeconds === 'number') {
      record.firstEtaSeconds = update.etaSeconds;
      record.firstEtaAt = Date.now();
    }
  };
  return new Promise((resolve) => {
    let settled = false;
    let socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
    const finish = (token: string | null, error?: string) => {
      if (settled) return;
      settled = true;
      if (error) record.error = error;
      ctx.signal.removeEventListener('abort', onAbort);
      socket?.close();
      resolve(token);
    };
    const onAbort = () => finish(null);
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    const poll = async () => {
      record.via = 'poll';
      socket?.close();
      while (!settled && !ctx.signal.aborted) {
        try {
          const res = await httpRequest(
            'GET',
            `${ctx.gatewayUrl}/rooms/${ctx.config.roomId}/status`,
            { accept: 'application/json', 'x-device-id': `sim-device-${record.deviceId}`, 'x-tidegate-ticket': ticket },
            REQUEST_TIMEOUT_MS,
          );
          const json = JSON.parse(res.body) as Json;
          if (json.inWaitingRoom === false && typeof json.token === 'string') return finish(json.token);
          if (json.inWaitingRoom === true && typeof json.ticket === 'string' && json.ticket !== ticket) {
            return finish(null, 'ticket replaced: the place was lost');
          }
          seen(json);
        } catch {
          // a slow answer: try again at the next check-in
        }
        await sleep(POLL_MS, ctx.signal);
      }
      finish(null);
    };

    socket = io(ctx.wsUrl, {
      auth: { ticket, room: ctx.config.roomId },
      transports: ['websocket'],
      forceNew: true,
      multiplex: false,
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
      timeout: 20_000,
    });
    socket.on('position.v1', seen);
    socket.on('admitted.v1', ({ token }) => {
      record.via = 'socket';
      finish(token);
    });
    socket.on('disconnect', () => {
      if (!settled) record.disconnects++;
    });
    socket.on('ticketExpired.v1', () => finish(null, 'ticket expired'));
    socket.on('connect_error', (err: Error & { data?: { reason?: string } }) => {
      const reason = err.data?.reason;
      if (reason === 'ticket_expired' || reason === 'ticket_invalid' || reason === 'ticket_other_room') {
        finish(null, `socket refused: ${reason}`);
      } else if (reason !== undefined) {
        void poll(); // server_full, unavailable: poll instead, as the docs tell apps to
      }
      // no reason: a connection problem; socket.io reconnects by itself
    });
  });
}
