/**
 * Admission in Redis: one Lua script per operation (libs/redis/src/scripts/*.lua, each with its contract in its
 * header), all keys of a room in one Cluster slot. Per waiting user Redis holds a few bits: one in the gone bitmap and
 * one in each live seen-bitmap (at most two: each expires two grace periods after its last write). Bitmaps are sized
 * by the highest ticket number since the line last emptied (the gone bitmap is reset then), so a line that never
 * empties costs a bit per ticket issued. `npm run bench -- gateway` measures it: about 0.3 bytes per waiting user
 * with a million tickets out.
 */
import { randomBytes } from 'node:crypto';
import type { RoomSnapshot } from '@tidegate/contracts';
import { defineScript, type RedisClient, type RedisKeys, type ScriptCall } from '@tidegate/redis';
import { estimateWaitSeconds, roomPressure } from './eta';

export type ArriveResult =
  | { kind: 'admitted'; sessionId: string; expiresAtMs: number }
  | { kind: 'ticket'; ticket: number; position: number }
  | { kind: 'suspended' }
  | { kind: 'rejected'; active: number }
  | { kind: 'unknown' };

export type StatusResult =
  | { kind: 'waiting'; position: number }
  | { kind: 'admitted'; sessionId: string; expiresAtMs: number }
  | { kind: 'expired' }
  | { kind: 'invalid' }
  | { kind: 'unknown' };

/** What a ws node needs each tick to place all its sockets of a room: one pipelined round trip. */
export interface LineView {
  serving: number;
  /** GETRANGE of the gone bitmap from byte `firstByte` (covers serving .. the largest ticket asked about). */
  gone: { firstByte: number; bytes: Buffer };
  /** The releaser's latest snapshot (at most a few seconds old), if a gateway is running. */
  snapshot: RoomSnapshot | null;
}

export interface ReleaseResult {
  admitted: number;
  skipped: number;
  snapshot: RoomSnapshot | null;
}

export interface AdmissionOptions {
  /** A waiting ticket not seen (poll, heartbeat) for between one and two of these is skipped when its turn comes. */
  graceMs: number;
  /** How long a reserved session waits for its ticket holder to claim it. Defaults to graceMs. */
  claimWindowMs?: number;
  /** Tickets one release call may look at (bounds the script's run time). */
  releaseScanLimit?: number;
}

type Reply = Array<string | number>;

export class AdmissionStore {
  private readonly claimWindowMs: number;
  private readonly scanLimit: number;
  private readonly scripts: {
    arrive: ScriptCall<Reply>;
    release: ScriptCall<Reply>;
    status: ScriptCall<Reply>;
    leave: ScriptCall<Reply>;
    touch: ScriptCall<number>;
  };

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly options: AdmissionOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.claimWindowMs = options.claimWindowMs ?? options.graceMs;
    this.scanLimit = options.releaseScanLimit ?? 10_000;
    this.scripts = {
      arrive: defineScript(redis, 'tidegateArrive', 'arrive-9.lua'),
      release: defineScript(redis, 'tidegateRelease', 'release-11.lua'),
      status: defineScript(redis, 'tidegateStatus', 'status-8.lua'),
      leave: defineScript(redis, 'tidegateLeave', 'leave-5.lua'),
      touch: defineScript(redis, 'tidegateTouch', 'touch-2.lua'),
    };
  }

  private seenKeys(roomId: string): { current: string; previous: string; ttlMs: number } {
    const bucket = Math.floor(this.clock() / this.options.graceMs);
    const room = this.keys.room(roomId);
    // A bucket is read until the end of the next one: two grace periods after its last write is enough.
    return { current: room.seen(bucket), previous: room.seen(bucket - 1), ttlMs: this.options.graceMs * 2 + 1000 };
  }

  async arrive(roomId: string): Promise<ArriveResult> {
    const k = this.keys.room(roomId);
    const seen = this.seenKeys(roomId);
    const sessionId = `s${randomBytes(12).toString('base64url')}`;
    const r = await this.scripts.arrive(
      [k.config, k.tickets, k.serving, k.sessions, k.rate, k.goneCount, seen.current, k.admits, k.clock],
      [sessionId, seen.ttlMs],
    );
    switch (r[0]) {
      case 'admitted':
        return { kind: 'admitted', sessionId, expiresAtMs: Number(r[1]) };
      case 'ticket':
        return { kind: 'ticket', ticket: Number(r[1]), position: Number(r[2]) };
      case 'rejected':
        return { kind: 'rejected', active: Number(r[1]) };
      case 'suspended':
        return { kind: 'suspended' };
      default:
        return { kind: 'unknown' };
    }
  }

  /** A waiting user checks in: marks the ticket live, and claims the session once the ticket's turn has come. */
  async status(roomId: string, ticket: number): Promise<StatusResult> {
    const k = this.keys.room(roomId);
    const seen = this.seenKeys(roomId);
    const r = await this.scripts.status(
      [k.config, k.tickets, k.serving, k.sessions, k.goneCount, k.gone, seen.current, k.admits],
      [ticket, seen.ttlMs],
    );
    switch (r[0]) {
      case 'waiting':
        return { kind: 'waiting', position: Number(r[1]) };
      case 'admitted':
        return { kind: 'admitted', sessionId: ticketSessionId(ticket), expiresAtMs: Number(r[1]) };
      case 'expired':
        return { kind: 'expired' };
      case 'invalid':
        return { kind: 'invalid' };
      default:
        return { kind: 'unknown' };
    }
  }

  /** Leaves the line (ticket) and/or ends a session; the people behind move up at once. */
  async leave(roomId: string, leaving: { ticket?: number; sessionId?: string }): Promise<{ ticketLeft: boolean; sessionEnded: boolean }> {
    const k = this.keys.room(roomId);
    const r = await this.scripts.leave(
      [k.tickets, k.serving, k.gone, k.goneCount, k.sessions],
      [leaving.ticket ?? 0, leaving.sessionId ?? ''],
    );
    return { ticketLeft: Number(r[0]) === 1, sessionEnded: Number(r[1]) === 1 };
  }

  /** Renews a session on activity; the new expiry in ms, or null when the session is over (expired or revoked). */
  async touch(roomId: string, sessionId: string): Promise<number | null> {
    const k = this.keys.room(roomId);
    const r = Number(await this.scripts.touch([k.config, k.sessions], [sessionId]));
    return r > 0 ? r : null;
  }

  /** The room's line as seen from `serving` up to `maxTicket`: serving, the gone bits in between, the snapshot. */
  async lineView(roomId: string, maxTicket: number): Promise<LineView> {
    const k = this.keys.room(roomId);
    const serving = Number((await this.redis.get(k.serving)) ?? 0);
    const firstByte = serving >> 3;
    const lastByte = Math.max(firstByte, maxTicket >> 3);
    const [bytes, snapshot] = await Promise.all([this.redis.getrangeBuffer(k.gone, firstByte, lastByte), this.redis.get(k.snapshot)]);
    return { serving, gone: { firstByte, bytes }, snapshot: snapshot ? (JSON.parse(snapshot) as RoomSnapshot) : null };
  }

  /** Marks tickets as seen (their holders are connected) in one BITFIELD command. */
  async markSeen(roomId: string, tickets: readonly number[]): Promise<void> {
    if (tickets.length === 0) return;
    const seen = this.seenKeys(roomId);
    const args: Array<string | number> = [];
    for (const t of tickets) args.push('SET', 'u1', t, 1);
    await this.redis.call('BITFIELD', seen.current, ...args);
    await this.redis.pexpire(seen.current, seen.ttlMs);
  }

  /** One releaser step for a room, and the room's snapshot (also stored for the ws app and the scheduler). */
  async release(roomId: string, maxWaitSeconds: number): Promise<ReleaseResult> {
    const k = this.keys.room(roomId);
    const seen = this.seenKeys(roomId);
    const reply = await this.scripts.release(
      [k.config, k.tickets, k.serving, k.sessions, k.rate, k.goneCount, k.gone, seen.current, seen.previous, k.admits, k.clock],
      [this.claimWindowMs, this.scanLimit],
    );
    const r = reply.map(Number);
    const [admitted, skipped, serving, tickets, gone, active, perMinute, oldestMs, now, flags] = r as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    if (flags === -1) return { admitted: 0, skipped: 0, snapshot: null };
    const waiting = Math.max(0, tickets - serving - gone);
    const snapshot: RoomSnapshot = {
      roomId,
      at: now,
      tickets,
      serving,
      gone,
      waiting,
      active,
      admittedPerMinute: perMinute,
      estimatedWaitSeconds: estimateWaitSeconds(waiting, perMinute),
      oldestTicketAgeSeconds: Math.floor(oldestMs / 1000),
      pressure: roomPressure(waiting, perMinute, maxWaitSeconds),
      queueAll: flags === 1,
      suspended: flags === 2,
    };
    return { admitted, skipped, snapshot };
  }
}

/** The session id of an admission that came through the line. */
export const ticketSessionId = (ticket: number) => `t${ticket}`;
