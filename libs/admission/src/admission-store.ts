/**
 * Admission in Redis: one Lua script per operation (libs/redis/src/scripts/*.lua, each with its contract in its
 * header), all keys of a room in one Cluster slot. Per waiting user Redis holds a few bits: one in the gone bitmap and
 * one in each live seen-bitmap (at most two: each expires two grace periods after its last write). Bitmaps are sized
 * by the highest ticket number since the line last emptied (the gone bitmap is reset then), so a line that never
 * empties costs a bit per ticket issued. `npm run bench -- gateway` measures it: about 0.3 bytes per waiting user
 * with a million tickets out.
 *
 * Two kinds of liveness per ticket: *seen* (checked in within the last one or two grace periods: the place is kept) and
 * *present* (checked in within the last one or two presence buckets, a check-in interval each: the holder is there
 * now). Places are reserved only for holders who are present; see docs/admission.md, "Away holders".
 */
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { RoomCapacitySettings, RoomSnapshot } from '@tidegate/contracts';
import { defineScript, type RedisClient, type RedisKeys, type ScriptCall } from '@tidegate/redis';
import {
  clientWindowArgs,
  countedResult as counted,
  decodeArrivals,
  decodeLeave,
  decodeRelease,
  decodeStatus,
  decodeTouch,
  lineTicketArgs,
  type ArriveResult,
  type ClientWindow,
  type Counted,
  type LeaveResult,
  type LineTicket,
  type Reply,
  type StatusResult,
} from './admission-results';
import { ArrivalBatches, type PendingArrival, type TurnScheduler } from './arrival-batches';
import { roomEtaSeconds, roomPressure } from './eta';
import { blockBytes, blockCounts, blockRuns, goneBlockOf, type GoneMirror, type GoneSlice } from './gone-mirror';
import { RoomSnapshotStore, type StoredRoomSnapshot } from './room-snapshot-store';

/** What a ws node needs each tick to place all its sockets of a room: one pipelined round trip. */
export interface LineView {
  serving: number;
  /** The current line's start (epoch seconds; 0 when not recorded): a ticket issued before it is of a lost line. */
  line: number;
  /** GETRANGE of the gone bitmap from byte `firstByte` (covers serving .. the largest ticket asked about). */
  gone: GoneSlice;
  /** The releaser's latest snapshot, if a gateway has published one (see ROOM_SNAPSHOT_FRESH_MS for `fresh`). */
  snapshot: StoredRoomSnapshot | null;
}

export interface ReleaseResult {
  admitted: number;
  skipped: number;
  /** Tickets passed over by this step while their holders were away (they keep their place for the grace period). */
  parked: number;
  snapshot: RoomSnapshot | null;
}

export interface AdmissionOptions {
  /** A waiting ticket not seen (poll, heartbeat) for between one and two of these is skipped when its turn comes. */
  graceMs: number;
  /**
   * A holder seen within the last one or two of these is present (there now). Defaults to the check-in interval
   * (`checkInIntervalMs(graceMs)`: how often pollers check in and the ws app marks its sockets) plus a second of slack
   * for timers and round trips; never longer than graceMs.
   */
  presenceMs?: number;
  /** How long a session reserved for a (present) ticket holder waits for them to claim it. Defaults to graceMs. */
  claimWindowMs?: number;
  /** Tickets one release call may look at (bounds the script's run time). */
  releaseScanLimit?: number;
  /**
   * When a turn's arrivals go out as one script call (see arrival-batches.ts): setImmediate by default; the gateway
   * passes its end-of-turn queue, so the batch joins the turn's one socket write.
   */
  scheduleArrivals?: TurnScheduler;
}

type RoomKeys = ReturnType<RedisKeys['room']>;
interface BucketKeys {
  bucket: number;
  current: string;
  previous: string;
  ttlMs: number;
}
interface CachedRoom {
  keys: RoomKeys;
  seen: BucketKeys | null;
  present: BucketKeys | null;
}
/** Rooms whose key names a store keeps (then it starts over): far more than a deployment has. */
const MAX_CACHED_ROOMS = 4096;

/** Random bytes of a session id (96 bits: unguessable; the id travels in the admission token, readable by its holder). */
const SESSION_ID_BYTES = 12;
/** Drawn at once for this many ids: `randomBytes` costs about the same for 12 bytes as for 4 KB (issue #12). */
const SESSION_IDS_PER_DRAW = 341;
let sessionIdPool = Buffer.alloc(0);
let sessionIdAt = 0;

/**
 * A new session id, `s` and 16 base64url characters: 12 fresh bytes of the CSPRNG, each byte used for one id only.
 * An arrival makes one whether or not it is admitted (the script decides), so it comes from a pool, not a draw each.
 */
export function newSessionId(): string {
  if (sessionIdAt + SESSION_ID_BYTES > sessionIdPool.length) {
    sessionIdPool = randomBytes(SESSION_ID_BYTES * SESSION_IDS_PER_DRAW);
    sessionIdAt = 0;
  }
  const id = `s${sessionIdPool.toString('base64url', sessionIdAt, sessionIdAt + SESSION_ID_BYTES)}`;
  sessionIdAt += SESSION_ID_BYTES;
  return id;
}

/** How often a waiting holder checks in (pollers) or is marked seen (sockets): a third of the grace, at least 1 s. */
export const checkInIntervalMs = (graceMs: number) => Math.max(1000, Math.floor(graceMs / 3));

export class AdmissionStore {
  private readonly claimWindowMs: number;
  private readonly presenceMs: number;
  private readonly scanLimit: number;
  private readonly snapshots: RoomSnapshotStore;
  private readonly rooms = new Map<string, CachedRoom>();
  private readonly arrivals: ArrivalBatches<Counted<ArriveResult>>;
  private readonly scripts: {
    arrive: ScriptCall<unknown>;
    release: ScriptCall<Reply>;
    status: ScriptCall<Reply>;
    leave: ScriptCall<Reply>;
    touch: ScriptCall<Reply>;
    away: ScriptCall<number>;
  };

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly options: AdmissionOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.presenceMs = Math.min(options.graceMs, options.presenceMs ?? checkInIntervalMs(options.graceMs) + 1000);
    this.claimWindowMs = options.claimWindowMs ?? options.graceMs;
    this.scanLimit = options.releaseScanLimit ?? 10_000;
    this.snapshots = new RoomSnapshotStore(redis, keys, clock);
    this.scripts = {
      arrive: defineScript(redis, 'tidegateArrive', 'arrive-11+.lua'),
      release: defineScript(redis, 'tidegateRelease', 'release-16.lua'),
      status: defineScript(redis, 'tidegateStatus', 'status-11.lua'),
      leave: defineScript(redis, 'tidegateLeave', 'leave-8.lua'),
      touch: defineScript(redis, 'tidegateTouch', 'touch-3.lua'),
      away: defineScript(redis, 'tidegateAway', 'away-3.lua'),
    };
    this.arrivals = new ArrivalBatches((roomId, batch) => this.sendArrivals(roomId, batch), options.scheduleArrivals);
  }

  /** A room's key names, built once per room (and per time bucket for the seen and present bitmaps). */
  private room(roomId: string): CachedRoom {
    let room = this.rooms.get(roomId);
    if (room === undefined) {
      if (this.rooms.size >= MAX_CACHED_ROOMS) this.rooms.clear();
      room = { keys: this.keys.room(roomId), seen: null, present: null };
      this.rooms.set(roomId, room);
    }
    return room;
  }

  private seenKeys(roomId: string): BucketKeys {
    const bucket = Math.floor(this.clock() / this.options.graceMs);
    const room = this.room(roomId);
    if (room.seen?.bucket !== bucket) {
      // A bucket is read until the end of the next one: two grace periods after its last write is enough.
      room.seen = { bucket, current: room.keys.seen(bucket), previous: room.keys.seen(bucket - 1), ttlMs: this.options.graceMs * 2 + 1000 };
    }
    return room.seen;
  }

  private presentKeys(roomId: string): BucketKeys {
    const bucket = Math.floor(this.clock() / this.presenceMs);
    const room = this.room(roomId);
    if (room.present?.bucket !== bucket) {
      room.present = {
        bucket,
        current: room.keys.present(bucket),
        previous: room.keys.present(bucket - 1),
        ttlMs: this.presenceMs * 2 + 1000,
      };
    }
    return room.present;
  }

  async arrive(roomId: string): Promise<ArriveResult> {
    return (await this.runArrive(roomId, null)).result as ArriveResult;
  }

  /** An arrival counted against its client's throttle window first, in the same round trip (the gateway's path). */
  arriveCounting(roomId: string, client: ClientWindow): Promise<Counted<ArriveResult>> {
    return this.runArrive(roomId, client);
  }

  /** Joins this turn's batch of arrivals at the room (arrival-batches.ts): one script call for the batch. */
  private runArrive(roomId: string, client: ClientWindow | null): Promise<Counted<ArriveResult>> {
    return this.arrivals.add(roomId, client);
  }

  /** One arrive-11+ call for a batch; settles each arrival with its own answer, or all with the call's failure. */
  private sendArrivals(roomId: string, batch: Array<PendingArrival<Counted<ArriveResult>>>): void {
    const fail = (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const arrival of batch) arrival.reject(error);
    };
    let sessionIds: string[];
    let call: Promise<unknown>;
    try {
      // Runs at the end of a turn, not in a caller's promise: whatever throws here must reach the arrivals.
      const k = this.room(roomId).keys;
      const seen = this.seenKeys(roomId);
      const present = this.presentKeys(roomId);
      const keys = [
        k.config,
        k.tickets,
        k.serving,
        k.sessions,
        k.rate,
        k.goneCount,
        seen.current,
        k.admits,
        k.clock,
        present.current,
        k.line,
      ];
      const args: Array<string | number> = [seen.ttlMs, present.ttlMs];
      sessionIds = new Array<string>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const counting = clientWindowArgs((batch[i] as PendingArrival<unknown>).client, k.config);
        const sessionId = newSessionId();
        sessionIds[i] = sessionId;
        keys.push(counting.key);
        args.push(sessionId, counting.args[0], counting.args[1], counting.args[2]);
      }
      call = this.scripts.arrive(keys, args);
    } catch (err) {
      fail(err);
      return;
    }
    call.then((reply) => {
      let results: Array<Counted<ArriveResult>>;
      try {
        results = decodeArrivals(reply, sessionIds);
      } catch (err) {
        fail(err);
        return;
      }
      for (let i = 0; i < batch.length; i++)
        (batch[i] as PendingArrival<Counted<ArriveResult>>).resolve(results[i] as Counted<ArriveResult>);
    }, fail);
  }

  /**
   * A waiting user checks in: marks the ticket seen and present, and claims the session once the ticket's turn has
   * come. A ticket of a line lost before the current one is 'expired', whatever its number.
   */
  async status(roomId: string, ticket: LineTicket): Promise<StatusResult> {
    return (await this.runStatus(roomId, ticket, null)).result as StatusResult;
  }

  /** A check-in counted against its client's throttle window first, in the same round trip (the gateway's path). */
  statusCounting(roomId: string, ticket: LineTicket, client: ClientWindow): Promise<Counted<StatusResult>> {
    return this.runStatus(roomId, ticket, client);
  }

  private async runStatus(roomId: string, lineTicket: LineTicket, client: ClientWindow | null): Promise<Counted<StatusResult>> {
    const ticket = lineTicketArgs(lineTicket);
    const k = this.room(roomId).keys;
    const seen = this.seenKeys(roomId);
    const present = this.presentKeys(roomId);
    const counting = clientWindowArgs(client, k.config);
    const reply = await this.scripts.status(
      [k.config, k.tickets, k.serving, k.sessions, k.gone, seen.current, present.current, k.parked, counting.key, k.goneBlocks, k.line],
      [ticket.number, seen.ttlMs, present.ttlMs, ...counting.args, ticket.issuedAt],
    );
    return counted('status', reply, (answer) => decodeStatus(answer, ticket.number));
  }

  /**
   * Leaves the line (ticket) and/or ends a session; the people behind move up at once. A ticket of a lost line leaves
   * nothing (its number is someone else's in the current line).
   */
  async leave(roomId: string, leaving: { ticket?: LineTicket; sessionId?: string }): Promise<LeaveResult> {
    const k = this.room(roomId).keys;
    const ticket = leaving.ticket === undefined ? { number: 0, issuedAt: 0 } : lineTicketArgs(leaving.ticket);
    const reply = await this.scripts.leave(
      [k.tickets, k.serving, k.gone, k.goneCount, k.sessions, k.parked, k.goneBlocks, k.line],
      [ticket.number, leaving.sessionId ?? '', ticket.issuedAt],
    );
    return decodeLeave(reply);
  }

  /**
   * A waiting holder went away without leaving (their socket closed): no place is reserved for them from now on,
   * but they keep their place in line for the grace period, to come back to. A ticket of a lost line changes nothing.
   */
  async away(roomId: string, lineTicket: LineTicket): Promise<void> {
    const present = this.presentKeys(roomId);
    const ticket = lineTicketArgs(lineTicket);
    await this.scripts.away([present.current, present.previous, this.room(roomId).keys.line], [ticket.number, ticket.issuedAt]);
  }

  /** Renews a session on activity; the new expiry in ms, or null when the session is over (expired or revoked). */
  async touch(roomId: string, sessionId: string): Promise<number | null> {
    return (await this.runTouch(roomId, sessionId, null)).result;
  }

  /** A session renewal counted against its client's throttle window first, in the same round trip (the gateway's path). */
  touchCounting(roomId: string, sessionId: string, client: ClientWindow): Promise<Counted<number | null>> {
    return this.runTouch(roomId, sessionId, client);
  }

  private async runTouch(roomId: string, sessionId: string, client: ClientWindow | null): Promise<Counted<number | null>> {
    const k = this.room(roomId).keys;
    const counting = clientWindowArgs(client, k.config);
    const reply = await this.scripts.touch([k.config, k.sessions, counting.key], [sessionId, ...counting.args]);
    return counted('touch', reply, decodeTouch);
  }

  /** The room's line as seen from `serving` up to `maxTicket`: serving, the line's start, the gone bits in between, the snapshot. */
  async lineView(roomId: string, maxTicket: number, mirror?: GoneMirror): Promise<LineView> {
    const k = this.room(roomId).keys;
    if (mirror) return this.mirroredLineView(k, maxTicket, mirror);
    const serving = Number((await this.redis.get(k.serving)) ?? 0);
    const firstByte = serving >> 3;
    const lastByte = Math.max(firstByte, maxTicket >> 3);
    const [bytes, raw, line] = await Promise.all([
      this.redis.getrangeBuffer(k.gone, firstByte, lastByte),
      this.redis.get(k.snapshot),
      this.redis.get(k.line),
    ]);
    return {
      serving,
      line: Number(line ?? 0),
      gone: { firstByte, bytes },
      snapshot: raw === null ? null : this.snapshots.judge(raw),
    };
  }

  /**
   * lineView with a mirror of the gone bitmap (the caller keeps one per room): one round trip reads serving, the last
   * ticket, the line's per-block gone counts (4 bytes per 4096 tickets), the line's start and the snapshot; a second
   * one, only when some block of the line changed, reads the changed blocks. So a tick costs Redis a few bytes per
   * block of the line, not a bit per ticket.
   */
  private async mirroredLineView(k: ReturnType<RedisKeys['room']>, maxTicket: number, mirror: GoneMirror): Promise<LineView> {
    const from = mirror.firstBlock;
    const [servingRaw, ticketsRaw, nodes, raw, line] = await Promise.all([
      this.redis.get(k.serving),
      this.redis.get(k.tickets),
      this.redis.getrangeBuffer(k.goneBlocks, from * 4, -1),
      this.redis.get(k.snapshot),
      this.redis.get(k.line),
    ]);
    const serving = Number(servingRaw ?? 0);
    const tickets = Number(ticketsRaw ?? 0);
    const counts = blockCounts(nodes, from);
    const first = goneBlockOf(serving + 1);
    const last = Math.max(first, goneBlockOf(Math.min(maxTicket, tickets)));
    const stale = mirror.plan(serving, tickets, first, last, counts, from);
    await Promise.all(
      blockRuns(stale).map(async ({ from: a, to: b }) => {
        const bytes = await this.redis.getrangeBuffer(k.gone, a * blockBytes, (b + 1) * blockBytes - 1);
        for (let block = a; block <= b; block++) {
          const part = bytes.subarray((block - a) * blockBytes, (block - a + 1) * blockBytes);
          mirror.store(block, part, counts[block - from] ?? 0, tickets);
        }
      }),
    );
    return {
      serving,
      line: Number(line ?? 0),
      gone: mirror.slice(first, last),
      snapshot: raw === null ? null : this.snapshots.judge(raw),
    };
  }

  /** Marks tickets as seen (their holders are connected) in one BITFIELD command. */
  async markSeen(roomId: string, tickets: readonly number[]): Promise<void> {
    if (tickets.length === 0) return;
    const args: Array<string | number> = [];
    for (const t of tickets) args.push('SET', 'u1', t, 1);
    for (const bitmap of [this.seenKeys(roomId), this.presentKeys(roomId)]) {
      await this.redis.call('BITFIELD', bitmap.current, ...args);
      await this.redis.pexpire(bitmap.current, bitmap.ttlMs);
    }
  }

  /** One releaser step for a room, and the room's snapshot (the releaser publishes it with `RoomSnapshotStore`). */
  async release(roomId: string, maxWaitSeconds: number, capacity?: RoomCapacitySettings): Promise<ReleaseResult> {
    const k = this.room(roomId).keys;
    const seen = this.seenKeys(roomId);
    const present = this.presentKeys(roomId);
    const step = decodeRelease(
      await this.scripts.release(
        [
          k.config,
          k.tickets,
          k.serving,
          k.sessions,
          k.rate,
          k.goneCount,
          k.gone,
          seen.current,
          seen.previous,
          k.admits,
          k.clock,
          present.current,
          present.previous,
          k.parked,
          k.goneBlocks,
          k.line,
        ],
        [this.claimWindowMs, this.scanLimit, this.options.graceMs],
      ),
    );
    if (!step) return { admitted: 0, skipped: 0, parked: 0, snapshot: null };
    const perMinute = step.admitsLastMinute;
    const waiting = Math.max(0, step.tickets - step.serving - step.gone);
    const oldestTicketAgeSeconds = Math.floor(step.oldestTicketAgeMs / 1000);
    const estimatedWaitSeconds = roomEtaSeconds(waiting + 1, {
      capacity,
      active: step.active,
      admittedPerMinute: perMinute,
      oldestTicketAgeSeconds,
    });
    const snapshot: RoomSnapshot = {
      roomId,
      at: step.nowMs,
      tickets: step.tickets,
      serving: step.serving,
      gone: step.gone,
      waiting,
      active: step.active,
      admittedPerMinute: perMinute,
      estimatedWaitSeconds,
      oldestTicketAgeSeconds,
      pressure: roomPressure(waiting, estimatedWaitSeconds, maxWaitSeconds),
      queueAll: step.mode === 'queue_all',
      suspended: step.mode === 'suspended',
      ...(capacity ? { capacity } : {}),
    };
    return { admitted: step.admitted, skipped: step.skipped, parked: step.parked, snapshot };
  }

  /**
   * Deletes every key of a room (the room was deleted), so a room re-created with the same id starts with no
   * sessions, no tickets and a fresh line. Returns the number of keys deleted. All the room's keys share its hash
   * tag, so on a Cluster they live on one node; SCAN walks every master to find it.
   */
  async forgetRoom(roomId: string): Promise<number> {
    const pattern = this.keys.room(roomId).everything;
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    // The settings first, in one command: every admission script stops at a room without settings, so none that runs
    // while the scan below deletes the rest can write a key back (a releaser's reservation, a ticket) for the room
    // re-created after it to inherit.
    let deleted = await this.redis.del(this.keys.room(roomId).config);
    for (const node of nodes) {
      let cursor = '0';
      // Bounded: a room has a handful of keys plus one bitmap per live time bucket.
      for (let pass = 0; pass < 100_000; pass++) {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (found.length > 0) deleted += await node.del(...found);
        cursor = next;
        if (cursor === '0') break;
      }
    }
    return deleted;
  }
}
