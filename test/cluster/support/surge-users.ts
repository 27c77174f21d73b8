/**
 * People in a surge, as the mobile app behaves (JSON, X-Device-Id): one arrives through a gateway, is either let in at
 * once or given a ticket, and then waits on a socket.io connection to a ws app for its live positions and its turn
 * (`admitted.v1` with a token). Each records what it was told, for the test to judge.
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, PositionUpdate, ServerToClientEvents } from '@tidegate/contracts';

const REQUEST_MS = 15_000;

export class SurgeUser {
  /** The ticket's number (its place in the FIFO order), when told to wait. */
  ticket: number | null = null;
  ticketText: string | null = null;
  /** The admission token, once let in (at once, or by `admitted.v1`). */
  token: string | null = null;
  via: 'direct' | 'socket' | null = null;
  /** Every `position.v1` position, in the order received. */
  readonly positions: number[] = [];
  /** `admitted.v1` events received (must end at 1 for everyone who waited). */
  admittedEvents = 0;
  /** Anything the user would see as broken. */
  readonly problems: string[] = [];
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;

  constructor(
    readonly index: number,
    readonly roomId: string,
    /** The gateway it arrives through; its visits and its leaving go through the other one. */
    readonly gatewayUrl: string,
    readonly otherGatewayUrl: string,
    readonly wsIndex: number,
    readonly wsUrl: string,
    /** Called once on `admitted.v1`, on the socket's event. */
    private readonly onAdmitted: (user: SurgeUser) => void,
  ) {}

  get deviceId(): string {
    return `surge-user-${this.index}`;
  }

  private headers(token?: string): Record<string, string> {
    return { accept: 'application/json', 'x-device-id': this.deviceId, ...(token && { 'x-tidegate-token': token }) };
  }

  /** The tap: a page through its own gateway. Resolves once it is let in or holds a ticket. */
  async arrive(): Promise<void> {
    const res = await fetch(`${this.gatewayUrl}/${this.roomId}/page?user=${this.index}`, {
      headers: this.headers(),
      signal: AbortSignal.timeout(REQUEST_MS),
    });
    if (res.headers.get('x-origin') === 'fake') {
      await res.arrayBuffer();
      this.token = res.headers.get('x-tidegate-token');
      this.via = 'direct';
      if (!this.token) this.problems.push('let in without a token');
      return;
    }
    const body = (await res.json()) as { inWaitingRoom?: boolean; ticket?: string };
    if (res.status !== 200 || body.inWaitingRoom !== true || typeof body.ticket !== 'string') {
      this.problems.push(`arrival answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
      return;
    }
    this.ticketText = body.ticket;
    this.ticket = Number(body.ticket.split('.')[1]);
  }

  /** Connects to its ws app with the ticket; resolves once connected. */
  connect(): Promise<void> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(this.wsUrl, {
      auth: { ticket: this.ticketText as string, room: this.roomId },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 15_000,
    });
    this.socket = socket;
    socket.on('position.v1', (update: PositionUpdate) => this.positions.push(update.position));
    socket.on('admitted.v1', ({ token }) => {
      this.admittedEvents++;
      if (this.admittedEvents > 1) return void this.problems.push('admitted.v1 twice');
      this.token = token;
      this.via = 'socket';
      socket.close();
      this.onAdmitted(this);
    });
    socket.on('ticketExpired.v1', () => this.problems.push('ticket expired'));
    socket.on('disconnect', (reason) => {
      if (this.via === null) this.problems.push(`socket closed while waiting: ${reason}`);
    });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err: Error & { data?: { reason?: string } }) =>
        reject(new Error(`user ${this.index}: socket refused: ${err.data?.reason ?? err.message}`)),
      );
    });
  }

  /** A page of the origin as an admitted user, through the other gateway: the token must let it through there. */
  async visit(): Promise<void> {
    const res = await fetch(`${this.otherGatewayUrl}/${this.roomId}/page?user=${this.index}`, {
      headers: this.headers(this.token ?? undefined),
      signal: AbortSignal.timeout(REQUEST_MS),
    });
    await res.arrayBuffer();
    if (res.headers.get('x-origin') !== 'fake')
      this.problems.push(`visit through the other gateway answered ${res.status}, not the origin`);
  }

  /** Says goodbye to the origin and leaves through `gatewayUrl`, freeing its place. */
  async leave(gatewayUrl: string): Promise<void> {
    const bye = await fetch(`${gatewayUrl}/${this.roomId}/bye?user=${this.index}`, {
      headers: this.headers(this.token ?? undefined),
      signal: AbortSignal.timeout(REQUEST_MS),
    });
    await bye.arrayBuffer();
    if (bye.headers.get('x-origin') !== 'fake') this.problems.push(`goodbye answered ${bye.status}, not the origin`);
    const left = await fetch(`${gatewayUrl}/rooms/${this.roomId}/leave`, {
      method: 'POST',
      headers: this.headers(this.token ?? undefined),
      signal: AbortSignal.timeout(REQUEST_MS),
    });
    await left.arrayBuffer();
    if (left.status >= 300) this.problems.push(`leave answered ${left.status}`);
  }

  /** The last position it was told, if any. */
  get lastPosition(): number | undefined {
    return this.positions[this.positions.length - 1];
  }

  close(): void {
    this.socket?.close();
  }
}

/**
 * The most sessions the origin held at once, from the requests it received in order: a user's session starts with
 * its first `page` and ends with its `bye` (sent before it leaves the room). `urls` are the origin's request URLs.
 */
export function peakSessions(urls: readonly string[]): number {
  const open = new Set<string>();
  let peak = 0;
  for (const url of urls) {
    const parsed = new URL(url, 'http://origin');
    const user = parsed.searchParams.get('user');
    if (user === null) continue;
    if (parsed.pathname.endsWith('/bye')) open.delete(user);
    else open.add(user);
    peak = Math.max(peak, open.size);
  }
  return peak;
}
