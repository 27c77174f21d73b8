import type { RoomSettings } from '@tidegate/contracts';
import { Injectable } from '@nestjs/common';
import { Prisma, type Room } from '@prisma/client';
import { PrismaService } from './prisma.service';

/** What a room is created with; fields left out take the column defaults (the same values as ROOM_DEFAULTS). */
export type RoomCreateData = Pick<Room, 'id' | 'name' | 'originUrl'> &
  Partial<
    Pick<
      Room,
      | 'paths'
      | 'totalActiveUsers'
      | 'newUsersPerMinute'
      | 'sessionDurationSeconds'
      | 'queueingMethod'
      | 'queueAll'
      | 'suspended'
      | 'maxWaitSeconds'
      | 'originMaxP95Ms'
      | 'originMaxErrorRate'
      | 'originMinRequests'
      | 'unhealthyAdmissionFactor'
      | 'message'
    >
  >;

/** A partial update: every field but the id; `message: null` clears the message. */
export type RoomUpdateData = Partial<Omit<RoomCreateData, 'id'>>;

/** A room with this id exists already (the id is the primary key). */
export class RoomExistsError extends Error {
  constructor(readonly roomId: string) {
    super(`a room with id ${roomId} exists already`);
    this.name = 'RoomExistsError';
  }
}

const isKnownError = (err: unknown, code: string): boolean => err instanceof Prisma.PrismaClientKnownRequestError && err.code === code;

/** Waiting rooms in PostgreSQL, the source of truth (Redis holds a hot copy of the settings, see libs/redis). */
@Injectable()
export class RoomRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** @throws RoomExistsError when the id is taken. */
  async create(data: RoomCreateData): Promise<Room> {
    try {
      return await this.prisma.room.create({ data });
    } catch (err) {
      if (isKnownError(err, 'P2002')) throw new RoomExistsError(data.id);
      throw err;
    }
  }

  findById(id: string): Promise<Room | null> {
    return this.prisma.room.findUnique({ where: { id } });
  }

  list(): Promise<Room[]> {
    return this.prisma.room.findMany({ orderBy: { id: 'asc' } });
  }

  /**
   * Applies a partial update and returns the row before and after it, or null when no such room exists. The row is
   * locked while it is read and written, so `before` is exactly what this update replaced (for the change log).
   */
  update(id: string, data: RoomUpdateData): Promise<{ before: Room; after: Room } | null> {
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM rooms WHERE id = ${id} FOR UPDATE`;
      if (locked.length === 0) return null;
      const before = await tx.room.findUniqueOrThrow({ where: { id } });
      const after = await tx.room.update({ where: { id }, data });
      return { before, after };
    });
  }

  /** Deletes a room (campaigns that used it keep running without one) and returns it, or null when unknown. */
  async delete(id: string): Promise<Room | null> {
    try {
      return await this.prisma.room.delete({ where: { id } });
    } catch (err) {
      if (isKnownError(err, 'P2025')) return null;
      throw err;
    }
  }
}

/** The part of a room that decides admission: what the Lua scripts read from the hot copy in Redis. */
export function roomSettings(room: Room): RoomSettings {
  return {
    totalActiveUsers: room.totalActiveUsers,
    newUsersPerMinute: room.newUsersPerMinute,
    sessionDurationSeconds: room.sessionDurationSeconds,
    queueingMethod: room.queueingMethod,
    queueAll: room.queueAll,
    suspended: room.suspended,
    maxWaitSeconds: room.maxWaitSeconds,
    originMaxP95Ms: room.originMaxP95Ms,
    originMaxErrorRate: room.originMaxErrorRate,
    originMinRequests: room.originMinRequests,
    unhealthyAdmissionFactor: room.unhealthyAdmissionFactor,
  };
}
