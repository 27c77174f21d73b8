import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { AdmissionStore } from '@tidegate/admission';
import type { Caller } from '@tidegate/auth';
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomExistsError, RoomRepository, roomSettings, type Room, type RoomUpdateData } from '@tidegate/database';
import { REDIS, RedisKeys, RoomConfigStore, type RedisClient } from '@tidegate/redis';
import { DEFAULT_PATHS, UPDATABLE_FIELDS, type CreateRoomDto, type RoomChangeView, type RoomView, type UpdateRoomDto } from './rooms.dto';

type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

/** API field name -> column (Prisma field) name. */
const COLUMNS = {
  name: 'name',
  origin_url: 'originUrl',
  paths: 'paths',
  total_active_users: 'totalActiveUsers',
  new_users_per_minute: 'newUsersPerMinute',
  session_duration_seconds: 'sessionDurationSeconds',
  queueing_method: 'queueingMethod',
  queue_all: 'queueAll',
  suspended: 'suspended',
  max_wait_seconds: 'maxWaitSeconds',
  origin_max_p95_ms: 'originMaxP95Ms',
  origin_max_error_rate: 'originMaxErrorRate',
  origin_min_requests: 'originMinRequests',
  unhealthy_admission_factor: 'unhealthyAdmissionFactor',
  message: 'message',
} as const satisfies Record<UpdatableField, keyof RoomUpdateData>;

export function toRoomView(room: Room): RoomView {
  return {
    id: room.id,
    name: room.name,
    origin_url: room.originUrl,
    paths: room.paths,
    total_active_users: room.totalActiveUsers,
    new_users_per_minute: room.newUsersPerMinute,
    session_duration_seconds: room.sessionDurationSeconds,
    queueing_method: room.queueingMethod,
    queue_all: room.queueAll,
    suspended: room.suspended,
    max_wait_seconds: room.maxWaitSeconds,
    origin_max_p95_ms: room.originMaxP95Ms,
    origin_max_error_rate: room.originMaxErrorRate,
    origin_min_requests: room.originMinRequests,
    unhealthy_admission_factor: room.unhealthyAdmissionFactor,
    message: room.message,
    created_at: room.createdAt,
    updated_at: room.updatedAt,
  };
}

/** The update in column names; fields the body leaves out stay undefined, which Prisma leaves unchanged. */
function toColumns(dto: UpdateRoomDto): RoomUpdateData {
  return {
    name: dto.name,
    originUrl: dto.origin_url,
    paths: dto.paths,
    totalActiveUsers: dto.total_active_users,
    newUsersPerMinute: dto.new_users_per_minute,
    sessionDurationSeconds: dto.session_duration_seconds,
    queueingMethod: dto.queueing_method,
    queueAll: dto.queue_all,
    suspended: dto.suspended,
    maxWaitSeconds: dto.max_wait_seconds,
    originMaxP95Ms: dto.origin_max_p95_ms,
    originMaxErrorRate: dto.origin_max_error_rate,
    originMinRequests: dto.origin_min_requests,
    unhealthyAdmissionFactor: dto.unhealthy_admission_factor,
    message: dto.message,
  };
}

/** The fields `dto` sets (present and not undefined), in API names. */
export function fieldsSet(dto: UpdateRoomDto): UpdatableField[] {
  return UPDATABLE_FIELDS.filter((field) => dto[field] !== undefined);
}

type Change = { from: unknown; to: unknown };

/** Who made a change: the API key of the request (see `Caller` in libs/auth). */
export type Actor = Pick<Caller, 'keyId' | 'keyName'>;

/** Old -> new values of the fields that differ; a room that does not exist (before create, after delete) is all nulls. */
function changes(before: Room | null, after: Room | null): Record<string, Change> {
  const out: Record<string, Change> = {};
  for (const field of UPDATABLE_FIELDS) {
    const from = before?.[COLUMNS[field]] ?? null;
    const to = after?.[COLUMNS[field]] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) out[field] = { from, to };
  }
  return out;
}

const describeChanges = (c: Record<string, Change>) =>
  Object.entries(c)
    .map(([field, { from, to }]) => `${field} ${JSON.stringify(from)} → ${JSON.stringify(to)}`)
    .join(', ') || 'no field changed';

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** How long an admin request waits for Redis before answering `live: false` (the client has no command timeout). */
const HOT_COPY_TIMEOUT_MS = 2000;

async function withinDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${HOT_COPY_TIMEOUT_MS} ms`)), HOT_COPY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waiting rooms: PostgreSQL is the source of truth; after every change the settings the admission scripts read are
 * written to Redis (the hot copy) and the rooms version is bumped, so gateways apply them within a second. A Redis
 * failure after PostgreSQL succeeded does not fail the request: the answer says `live: false`.
 */
@Injectable()
export class RoomsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Rooms');
  private readonly hot: RoomConfigStore;

  constructor(
    private readonly rooms: RoomRepository,
    @Inject(REDIS) private readonly redis: RedisClient,
    keys: RedisKeys,
    private readonly admission: AdmissionStore,
  ) {
    this.hot = new RoomConfigStore(redis, keys);
  }

  /**
   * Writes every room's hot copy at boot, and again whenever the Redis connection becomes ready (after an outage
   * Redis may have restarted empty), so a fresh Redis gets the settings. Never fails the boot.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.redis.on('ready', this.resync);
    // While the client is still connecting, the 'ready' listener does it (the main client has no offline queue).
    if (this.redis.status === 'ready') await this.syncAllOrWarn();
  }

  onApplicationShutdown(): void {
    this.redis.off('ready', this.resync);
  }

  private readonly resync = (): void => void this.syncAllOrWarn();

  private async syncAllOrWarn(): Promise<void> {
    try {
      await this.syncAll();
    } catch (err) {
      this.logger.warn(`could not write the rooms' hot copies to Redis: ${errorMessage(err)}`);
    }
  }

  /** Writes the hot copy of every room; returns how many were written and how many failed. */
  async syncAll(): Promise<{ written: number; failed: number }> {
    const rooms = await this.rooms.list();
    let written = 0;
    const failed: string[] = [];
    for (const room of rooms) {
      try {
        await withinDeadline(this.hot.write(room.id, roomSettings(room)));
        written++;
      } catch (err) {
        failed.push(`${room.id} (${errorMessage(err)})`);
      }
    }
    if (failed.length > 0) this.logger.warn(`room hot copies: wrote ${written}, failed ${failed.length}: ${failed.join(', ')}`);
    else this.logger.log(`room hot copies: wrote ${written}`);
    return { written, failed: failed.length };
  }

  async list(): Promise<RoomView[]> {
    return (await this.rooms.list()).map(toRoomView);
  }

  async get(id: string): Promise<RoomView> {
    const room = await this.rooms.findById(id);
    if (!room) throw new NotFoundException(`no room with id ${id}`);
    return toRoomView(room);
  }

  async create(dto: CreateRoomDto, actor: Actor): Promise<RoomChangeView> {
    await this.assertPathsFree(dto.paths ?? [...DEFAULT_PATHS], dto.id);
    let room: Room;
    try {
      room = await this.rooms.create({
        id: dto.id,
        name: dto.name ?? dto.id,
        originUrl: dto.origin_url,
        paths: dto.paths ?? [...DEFAULT_PATHS],
        totalActiveUsers: dto.total_active_users ?? ROOM_DEFAULTS.totalActiveUsers,
        newUsersPerMinute: dto.new_users_per_minute ?? ROOM_DEFAULTS.newUsersPerMinute,
        sessionDurationSeconds: dto.session_duration_seconds ?? ROOM_DEFAULTS.sessionDurationSeconds,
        queueingMethod: dto.queueing_method ?? ROOM_DEFAULTS.queueingMethod,
        queueAll: dto.queue_all ?? ROOM_DEFAULTS.queueAll,
        suspended: dto.suspended ?? ROOM_DEFAULTS.suspended,
        maxWaitSeconds: dto.max_wait_seconds ?? ROOM_DEFAULTS.maxWaitSeconds,
        originMaxP95Ms: dto.origin_max_p95_ms ?? ROOM_DEFAULTS.originMaxP95Ms,
        originMaxErrorRate: dto.origin_max_error_rate ?? ROOM_DEFAULTS.originMaxErrorRate,
        originMinRequests: dto.origin_min_requests ?? ROOM_DEFAULTS.originMinRequests,
        unhealthyAdmissionFactor: dto.unhealthy_admission_factor ?? ROOM_DEFAULTS.unhealthyAdmissionFactor,
        message: dto.message ?? null,
      });
    } catch (err) {
      if (err instanceof RoomExistsError) throw new ConflictException(`a room with id ${dto.id} exists already`);
      throw err;
    }
    this.audit('created', actor, room.id, changes(null, room));
    return { ...toRoomView(room), live: await this.writeHotCopy(room) };
  }

  async update(id: string, dto: UpdateRoomDto, actor: Actor): Promise<RoomChangeView> {
    const fields = fieldsSet(dto);
    if (fields.length === 0) {
      throw new BadRequestException([`the body must set at least one of: ${UPDATABLE_FIELDS.join(', ')}`]);
    }
    if (dto.paths) await this.assertPathsFree(dto.paths, id);
    const result = await this.rooms.update(id, toColumns(dto));
    if (!result) throw new NotFoundException(`no room with id ${id}`);
    this.audit('updated', actor, id, changes(result.before, result.after));
    return { ...toRoomView(result.after), live: await this.writeHotCopy(result.after) };
  }

  async remove(id: string, actor: Actor): Promise<RoomChangeView> {
    const room = await this.rooms.delete(id);
    if (!room) throw new NotFoundException(`no room with id ${id}`);
    this.audit('deleted', actor, id, changes(room, null));
    let live = true;
    try {
      // Every key of the room (its line, sessions, counters, snapshot) goes, so a room re-created with this id starts
      // clean; then the version bump tells gateways to stop serving it.
      await withinDeadline(this.admission.forgetRoom(id));
      await withinDeadline(this.hot.remove(id));
    } catch (err) {
      live = false;
      this.logger.warn(`room ${id} was deleted in PostgreSQL but its keys in Redis could not all be removed: ${errorMessage(err)}`);
    }
    return { ...toRoomView(room), live };
  }

  /**
   * 409 when another room protects one of these exact patterns already: a gateway would pick one of the two rooms
   * arbitrarily. (Overlapping patterns are fine: the most specific one wins, see the gateway's RoomRoutes.)
   */
  private async assertPathsFree(paths: readonly string[], roomId: string): Promise<void> {
    const clashes = (await this.rooms.list())
      .filter((other) => other.id !== roomId)
      .flatMap((other) => other.paths.filter((p) => paths.includes(p)).map((p) => `${p} (room ${other.id})`));
    if (clashes.length > 0) throw new ConflictException(`paths already protected by another room: ${clashes.join(', ')}`);
  }

  /** Whether the hot copy was written; a failure is logged, not thrown (PostgreSQL has the change already). */
  private async writeHotCopy(room: Room): Promise<boolean> {
    try {
      await withinDeadline(this.hot.write(room.id, roomSettings(room)));
      return true;
    } catch (err) {
      this.logger.warn(
        `room ${room.id} was saved in PostgreSQL but its hot copy in Redis could not be written (${errorMessage(err)}); ` +
          'gateways pick the change up at their next resync from PostgreSQL',
      );
      return false;
    }
  }

  /** One structured log line per change, for SREs: who, which room, old → new values. */
  private audit(action: 'created' | 'updated' | 'deleted', actor: Actor, roomId: string, fieldChanges: Record<string, Change>): void {
    this.logger.log({
      msg: `room ${roomId} ${action} by ${actor.keyName}: ${describeChanges(fieldChanges)}`,
      event: `room.${action}`,
      actor: actor.keyName,
      actorKeyId: actor.keyId,
      roomId,
      changes: fieldChanges,
    });
  }
}
