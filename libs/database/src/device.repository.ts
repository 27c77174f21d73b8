import { Injectable } from '@nestjs/common';
import { Prisma, type Device, type Platform } from '@prisma/client';
import { PrismaService } from './prisma.service';
import { segmentWhere, type Segment } from './segment';

/** A device as registered or imported: everything but the bookkeeping columns. */
/** The largest device id: `devices.id` is a PostgreSQL bigint. A larger number cannot name a device. */
export const MAX_DEVICE_ID = 9_223_372_036_854_775_807n;

export interface DeviceData {
  platform: Platform;
  /** FCM registration token, APNs device token (lowercase hex), or the Web Push subscription endpoint. */
  token: string;
  p256dh: string | null;
  auth: string | null;
  userId: string | null;
  timezone: string;
  locale: string | null;
  tags: string[];
  appVersion: string | null;
  /** For imports: when the device was last seen; null keeps what the row has (a new row gets null). */
  lastSeenAt?: Date | null;
}

/** A partial update of a device's attributes (its identity, platform and token, never changes). */
export type DeviceUpdateData = Partial<Pick<Device, 'p256dh' | 'auth' | 'userId' | 'timezone' | 'locale' | 'tags' | 'appVersion'>>;

/** Another device already has this (platform, token). */
export class DeviceExistsError extends Error {
  constructor() {
    super('another device has this platform and token');
    this.name = 'DeviceExistsError';
  }
}

export interface AudienceEstimate {
  estimate: number;
  /** true: counted; false: the query planner's estimate from table statistics. */
  exact: boolean;
  method: 'count' | 'planner';
}

/** Above this many rows (by pg_class.reltuples) an estimate comes from the planner instead of count(*). */
export const EXACT_COUNT_MAX_ROWS = 100_000;

const isKnownError = (err: unknown, code: string): boolean => err instanceof Prisma.PrismaClientKnownRequestError && err.code === code;

/**
 * Devices (push targets) in PostgreSQL. Ids are a dense BIGSERIAL that waves page through; a device is never deleted,
 * only deactivated (`active = false` with a reason), so stats keep pointing at it.
 */
@Injectable()
export class DeviceRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Registers a device, or replaces the attributes of the one with the same (platform, token), reactivating it and
   * marking it seen now. Atomic under concurrency (INSERT … ON CONFLICT).
   */
  async register(data: DeviceData): Promise<{ device: Device; created: boolean }> {
    const rows = await this.prisma.$queryRaw<Array<{ id: bigint; inserted: boolean }>>`
      INSERT INTO devices (platform, token, p256dh, auth, user_id, timezone, locale, tags, app_version, last_seen_at, updated_at)
      VALUES (CAST(${data.platform} AS "Platform"), ${data.token}, ${data.p256dh}, ${data.auth}, ${data.userId}, ${data.timezone},
              ${data.locale}, CAST(${data.tags} AS text[]), ${data.appVersion}, now(), now())
      ON CONFLICT (platform, token) DO UPDATE SET
        p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, user_id = EXCLUDED.user_id, timezone = EXCLUDED.timezone,
        locale = EXCLUDED.locale, tags = EXCLUDED.tags, app_version = EXCLUDED.app_version, active = true,
        deactivated_reason = NULL, last_seen_at = now(), updated_at = now()
      RETURNING id, (xmax = 0) AS inserted`;
    const [row] = rows;
    if (!row) throw new Error('device upsert returned no row');
    return { device: await this.prisma.device.findUniqueOrThrow({ where: { id: row.id } }), created: row.inserted };
  }

  /**
   * Upserts a batch of imported devices in one statement (json_to_recordset over one JSON parameter). Rows repeating a
   * (platform, token) within the batch are collapsed to the last one and counted as updates. Returns how many rows
   * were inserted and how many updated an existing device (including the collapsed repeats).
   */
  async upsertMany(rows: readonly DeviceData[]): Promise<{ inserted: number; updated: number }> {
    if (rows.length === 0) return { inserted: 0, updated: 0 };
    const last = new Map<string, DeviceData>();
    for (const row of rows) last.set(`${row.platform} ${row.token}`, row);
    const unique = [...last.values()];
    const repeats = rows.length - unique.length;
    // One JSON parameter for the whole batch: the driver and Prisma's parameter handling cost far more per value
    // (measured ~3x slower with one array per column) than PostgreSQL's json_to_recordset.
    const json = JSON.stringify(
      unique.map((d) => ({
        platform: d.platform,
        token: d.token,
        p256dh: d.p256dh,
        auth: d.auth,
        user_id: d.userId,
        timezone: d.timezone,
        locale: d.locale,
        tags: d.tags,
        app_version: d.appVersion,
        last_seen_at: d.lastSeenAt?.toISOString() ?? null,
      })),
    );
    const result = await this.prisma.$queryRaw<Array<{ inserted: bigint; updated: bigint }>>`
      WITH up AS (
        INSERT INTO devices (platform, token, p256dh, auth, user_id, timezone, locale, tags, app_version, last_seen_at, updated_at)
        SELECT CAST(r.platform AS "Platform"), r.token, r.p256dh, r.auth, r.user_id, r.timezone, r.locale, r.tags, r.app_version,
               CAST(r.last_seen_at AS timestamp), now()
        FROM json_to_recordset(CAST(${json} AS json)) AS r(
          platform text, token text, p256dh text, auth text, user_id text, timezone text, locale text, tags text[],
          app_version text, last_seen_at text)
        ON CONFLICT (platform, token) DO UPDATE SET
          p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, user_id = EXCLUDED.user_id, timezone = EXCLUDED.timezone,
          locale = EXCLUDED.locale, tags = EXCLUDED.tags, app_version = EXCLUDED.app_version, active = true,
          deactivated_reason = NULL, last_seen_at = COALESCE(EXCLUDED.last_seen_at, devices.last_seen_at), updated_at = now()
        RETURNING (xmax = 0) AS inserted
      )
      SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up`;
    const counts = result[0] ?? { inserted: 0n, updated: 0n };
    return { inserted: Number(counts.inserted), updated: Number(counts.updated) + repeats };
  }

  findById(id: bigint): Promise<Device | null> {
    return this.prisma.device.findUnique({ where: { id } });
  }

  /** Applies a partial update; null when no such device. */
  async update(id: bigint, data: DeviceUpdateData): Promise<Device | null> {
    try {
      return await this.prisma.device.update({ where: { id }, data });
    } catch (err) {
      if (isKnownError(err, 'P2025')) return null;
      if (isKnownError(err, 'P2002')) throw new DeviceExistsError();
      throw err;
    }
  }

  /** Marks a device inactive with a reason (`deleted`, `invalid_token`…); the row stays for stats. Null when unknown. */
  async deactivate(id: bigint, reason: string): Promise<Device | null> {
    try {
      return await this.prisma.device.update({ where: { id }, data: { active: false, deactivatedReason: reason } });
    } catch (err) {
      if (isKnownError(err, 'P2025')) return null;
      throw err;
    }
  }

  /** Exact number of devices in a segment (a scan of whatever the indexes leave: keep it to small tables). */
  async count(segment: Segment): Promise<number> {
    const [row] = await this.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM devices WHERE ${segmentWhere(segment)}`;
    return Number(row?.n ?? 0);
  }

  /** The planner's estimate of a segment's size, from table statistics (no scan). */
  async plannerEstimate(segment: Segment): Promise<number> {
    const rows = await this.prisma.$queryRaw<Array<{ 'QUERY PLAN': unknown }>>`
      EXPLAIN (FORMAT JSON) SELECT 1 FROM devices WHERE ${segmentWhere(segment)}`;
    const plan = rows[0]?.['QUERY PLAN'];
    const parsed = (typeof plan === 'string' ? JSON.parse(plan) : plan) as Array<{ Plan: { 'Plan Rows': number } }>;
    return Math.round(parsed[0]?.Plan['Plan Rows'] ?? 0);
  }

  /** The table's size as the statistics see it (pg_class.reltuples); null when never analysed. */
  async approximateRowCount(): Promise<number | null> {
    const [row] = await this.prisma.$queryRaw<Array<{ n: number }>>`
      SELECT reltuples::float8 AS n FROM pg_class WHERE oid = CAST('devices' AS regclass)`;
    const n = row?.n ?? -1;
    return n < 0 ? null : n;
  }

  /**
   * A segment's audience without a full scan on a large table: an exact count(*) while the table holds at most
   * EXACT_COUNT_MAX_ROWS rows, else the planner's estimate (`EXPLAIN … Plan Rows`). A never-analysed table is sized
   * by the planner too (which estimates from its pages).
   */
  async estimate(segment: Segment): Promise<AudienceEstimate> {
    const rows = (await this.approximateRowCount()) ?? (await this.plannerEstimate({ activeOnly: false }));
    if (rows <= EXACT_COUNT_MAX_ROWS) return { estimate: await this.count(segment), exact: true, method: 'count' };
    return { estimate: await this.plannerEstimate(segment), exact: false, method: 'planner' };
  }

  /** Refreshes the planner's statistics on devices (after a bulk import), so estimates follow the data. */
  async analyze(): Promise<void> {
    await this.prisma.$executeRawUnsafe('ANALYZE devices');
  }
}
