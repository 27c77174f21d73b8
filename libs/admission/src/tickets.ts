/**
 * Tickets: a waiting user's place in a room's line, held by the client (cookie or app storage), so a waiting user
 * needs no key of their own in Redis. A ticket is `<room>.<number>.<issuedAt>.<mac>`: HMAC-SHA-256 (128 bits kept)
 * over the rest with TICKET_SECRET, which every gateway and ws process shares. HMAC rather than a signature:
 * tickets are checked on every poll and heartbeat, and nobody outside Tidegate needs to verify them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256';

export interface Ticket {
  roomId: string;
  number: number;
  /** Seconds since the epoch. */
  issuedAt: number;
}

export type TicketProblem = 'malformed' | 'forged' | 'other_room' | 'expired';

export class TicketError extends Error {
  constructor(readonly problem: TicketProblem) {
    super(
      {
        malformed: 'this is not a ticket',
        forged: 'this ticket was not issued by this waiting room',
        other_room: 'this ticket belongs to another room',
        expired: 'this ticket is too old',
      }[problem],
    );
    this.name = 'TicketError';
  }
}

/** Rooms whose signing function is kept (a gateway serves a few; past this the cache starts over). */
const MAX_SIGNING_ROOMS = 1024;

/** One spelling per ticket: no leading zeros (Number() would read `01789…` as `1789…` and the MAC would still match). */
const PATTERN = /^([a-z0-9][a-z0-9-]{0,62})\.([1-9]\d{0,14})\.(0|[1-9]\d{0,11})\.([A-Za-z0-9_-]{22})$/;

export class TicketSigner {
  private readonly key: Buffer;

  constructor(
    secret: string,
    /** Tickets older than this are refused (a line never lasts this long). */
    private readonly maxAgeSeconds = 86_400,
  ) {
    if (secret.length < 32) throw new Error('the ticket secret must have at least 32 characters');
    this.key = Buffer.from(secret, 'utf8');
    this.hmac = new HmacSha256(this.key);
  }

  /** For signing: the key's padded blocks hashed once, and per room the message's head laid out once. */
  private readonly hmac: HmacSha256;
  private readonly signingRooms = new Map<string, (middle: string) => string>();

  private mac(roomId: string, number: number, issuedAt: number): string {
    return createHmac('sha256', this.key).update(`v1|${roomId}|${number}|${issuedAt}`).digest().subarray(0, 16).toString('base64url');
  }

  /**
   * The same MAC as `mac`, in plain JavaScript (HmacSha256): every arrival in a surge signs a ticket, and `createHmac`
   * costs a native object and a key setup per call (issue #12). `verify` keeps node:crypto, so every ticket signed here
   * and checked there checks the two against each other; a room id that is not printable ASCII (no valid ticket has
   * one) signs with node:crypto.
   */
  private signingMac(roomId: string, number: number, issuedAt: number): string {
    let mac = this.signingRooms.get(roomId);
    if (mac === undefined) {
      if (!/^[ -~]*$/.test(roomId)) return this.mac(roomId, number, issuedAt); // printable ASCII only
      if (this.signingRooms.size >= MAX_SIGNING_ROOMS) this.signingRooms.clear();
      mac = this.hmac.base64url16With(`v1|${roomId}|`, '');
      this.signingRooms.set(roomId, mac);
    }
    return mac(`${number}|${issuedAt}`);
  }

  sign(ticket: Ticket): string {
    return `${ticket.roomId}.${ticket.number}.${ticket.issuedAt}.${this.signingMac(ticket.roomId, ticket.number, ticket.issuedAt)}`;
  }

  /** The ticket, if `value` is a genuine, unexpired ticket of `roomId`; throws TicketError saying why not. */
  verify(value: string, roomId: string, nowSeconds = Math.floor(Date.now() / 1000)): Ticket {
    const m = PATTERN.exec(value);
    if (!m) throw new TicketError('malformed');
    const [, room, num, issued, mac] = m as unknown as [string, string, string, string, string];
    const ticket = { roomId: room, number: Number(num), issuedAt: Number(issued) };
    const expected = Buffer.from(this.mac(ticket.roomId, ticket.number, ticket.issuedAt));
    const actual = Buffer.from(mac);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw new TicketError('forged');
    if (ticket.roomId !== roomId) throw new TicketError('other_room');
    if (nowSeconds - ticket.issuedAt > this.maxAgeSeconds || ticket.issuedAt > nowSeconds + 300) throw new TicketError('expired');
    return ticket;
  }
}
