import { Injectable, Logger } from '@nestjs/common';
import { Prisma, type CampaignWave, type Platform } from '@prisma/client';
import { PrismaService } from './prisma.service';
import { streamRows } from './stream-rows';
import { deviceTextColumns, readDeviceText } from './device-text';
import { idRanges } from './id-ranges';
import { pageTextColumns, readPageText, type PageText } from './page-text';
import { segmentWhere, type Segment } from './segment';

/** A device as the planner lists it: `id` as text (the jobs' spelling, decimal without leading zeros). */
export interface PlannedDevice {
  id: string;
  platform: Platform;
}

/** An active device as the sender needs it. */
export interface SendableDevice {
  id: string;
  platform: Platform;
  token: string;
  p256dh: string | null;
  auth: string | null;
}

/** An active device with its time zone (read only when the campaign has quiet hours). */
export interface ZonedDevice extends SendableDevice {
  timezone: string;
}

export interface WaveCheckpoint {
  campaignId: string;
  wave: number;
  afterId: bigint;
  lastId: bigint;
  size: number;
  batches: number;
  dueAt: Date;
  /** When it left (the dispatch clock's now). */
  startedAt: Date;
  startNote: string | null;
  last: boolean;
}

/** Counters of a campaign or a wave, as flushed from Redis. */
/** A campaign's funnel as flushed (libs/redis FunnelSnapshot's shape). */
export interface FunnelFlush {
  opened: number;
  queued: number;
  admitted: number;
  replayed: number;
  waves: Array<{ wave: number; opened: number; queued: number; admitted: number }>;
  queueMs: number[];
  openDelayMs: number[];
}

export interface DispatchCounters {
  targeted: number;
  sent: number;
  failed: number;
  invalid: number;
  skipped: number;
  inactive: number;
}

/**
 * The active devices of a send batch: `id` as text (the job's spelling), the enum as its label, the rest as pg parses
 * them; the time zone only when asked for (quiet hours): each column read costs the worker (pg's client CPU for 500
 * rows, in a loop: about 0.36-0.42 ms with the zone, 0.32-0.34 without).
 */
const DEVICE_COLUMNS = (zone: boolean) => `id::text AS id, platform::text AS platform, token, p256dh, auth${zone ? ', timezone' : ''}`;
const BY_IDS = 'id = ANY($1::bigint[]) AND active';
const DEVICES_SQL = (zone: boolean) => `SELECT ${DEVICE_COLUMNS(zone)} FROM devices WHERE ${BY_IDS}`;
type DeviceRow = [id: string, platform: Platform, token: string, p256dh: string | null, auth: string | null, timezone?: string];

/**
 * The same read for a batch whose ids lie in one or two runs of (nearly) consecutive ids, as a batch of a campaign
 * partitioned by blocks does (libs/redis dispatch-partitions.ts): two id ranges, each one index range scan, where
 * `id = ANY` descends the index once per id. PostgreSQL's CPU for 500 rows: about 0.5 ms against 1.0 ms (the ids
 * consecutive) to 2 ms (500 ids 12 apart, the layout before blocks); docs/benchmarks.md, dispatch, fifth pass. An
 * empty second range is `1 … 0`.
 */
const IN_RANGES = '((id >= $1 AND id <= $2) OR (id >= $3 AND id <= $4)) AND active';
const DEVICE_RANGES_SQL = (zone: boolean) => `SELECT ${DEVICE_COLUMNS(zone)} FROM devices WHERE ${IN_RANGES}`;
/** Both reads as one text value (device-text.ts), tried first; the row reads above are the fallback. */
const DEVICE_TEXT_SQL = (zone: boolean, where: string) => `SELECT ${deviceTextColumns(zone)} FROM devices WHERE ${where}`;
type DeviceText = [count: number, text: string | null];

/**
 * A platform label as read (a new string per row) turned into the constant of the same spelling: the sender, the sink
 * and the planner's counts index objects by it, and V8 looks a key that is not an interned string up in its string
 * table on every such access (a label it does not know is returned as it is).
 */
function platformLabel(text: Platform): Platform {
  return text === 'fcm' ? 'fcm' : text === 'apns' ? 'apns' : text === 'webpush' ? 'webpush' : text;
}

/**
 * A page of a segment by keyset: `id` and `platform` of up to `limit` of its devices after `afterId` (and none past
 * `upTo`), in id order, as a subquery (read as rows or as text).
 */
function pageQuery(segment: Segment, afterId: bigint, limit: number, upTo: bigint | null): Prisma.Sql {
  const bound = upTo === null ? Prisma.empty : Prisma.sql` AND id <= ${upTo}`;
  return Prisma.sql`SELECT id, platform FROM devices WHERE ${segmentWhere(segment)} AND id > ${afterId}${bound} ORDER BY id LIMIT ${limit}`;
}

/** A PostgreSQL array literal of decimal integers. */
const DECIMAL_LIST = /^\{[0-9]+(?:,[0-9]+)*\}$/;

const MAX_INT = 2_147_483_647;
const clampInt = (n: number) => Math.min(MAX_INT, Math.max(0, Math.trunc(n)));

/**
 * What the campaign workers read and write in PostgreSQL: audiences by keyset pagination, the per-wave checkpoints,
 * the devices of a batch, deactivations, and the write-behind of counters.
 */
@Injectable()
export class DispatchRepository {
  private readonly logger = new Logger('DispatchRepository');

  constructor(private readonly prisma: PrismaService) {}

  /**
   * Up to `limit` devices of a segment after `afterId` (none past `upTo`), in id order: one page of a wave, by
   * keyset, as rows (the planner reads a wave as text, `segmentPageText`, and this when that text is not exactly the
   * page; a resend lists its waves with it). Straight through Prisma's pool (`PrismaService.pgPool`), the same parameterised SQL without
   * Prisma's row mapping, each row becoming its device as it arrives (`streamRows`): pg's result would hold all of a
   * wave's rows as arrays until the last one, long enough for V8 to promote them (issue #12's eighth pass).
   */
  async segmentPage(segment: Segment, afterId: bigint, limit: number, upTo: bigint | null = null): Promise<PlannedDevice[]> {
    const query = Prisma.sql`SELECT id::text, platform::text FROM (${pageQuery(segment, afterId, limit, upTo)}) AS page ORDER BY page.id`;
    const out: PlannedDevice[] = [];
    await streamRows<[id: string, platform: Platform]>(await this.prisma.pgPool(), query, (row) => {
      out.push({ id: row[0], platform: platformLabel(row[1]) });
    });
    return out;
  }

  /**
   * The same page as `segmentPage` (up to `limit` devices of the segment after `afterId`, and none past `upTo`), read
   * as one row of text (page-text.ts): the ids joined and a letter per platform, which the planner cuts into batches
   * without a string or an object per device. Null when the value is not exactly the page (see readPageText): then
   * read it as rows.
   */
  async segmentPageText(segment: Segment, afterId: bigint, limit: number, upTo: bigint | null = null): Promise<PageText | null> {
    const query = Prisma.sql`SELECT ${Prisma.raw(pageTextColumns())} FROM (${pageQuery(segment, afterId, limit, upTo)}) AS page`;
    const pool = await this.prisma.pgPool();
    const result = await pool.query<[count: number, ids: string | null, letters: string | null]>({
      text: query.text,
      values: query.values,
      rowMode: 'array',
    });
    const [count, ids, letters] = result.rows[0] as [number, string | null, string | null];
    return readPageText(count, ids, letters);
  }

  /** The platform of each listed device that exists (an inline audience), in id order. */
  async platformsOf(ids: readonly bigint[]): Promise<PlannedDevice[]> {
    if (ids.length === 0) return [];
    return this.prisma.$queryRaw<PlannedDevice[]>`
      SELECT id::text AS id, platform FROM devices WHERE id = ANY(CAST(${ids.map(String)} AS bigint[])) ORDER BY devices.id`;
  }

  /** Every materialised wave of a campaign, in order (its checkpoints). */
  waves(campaignId: string): Promise<CampaignWave[]> {
    return this.prisma.campaignWave.findMany({ where: { campaignId }, orderBy: { wave: 'asc' } });
  }

  findWave(campaignId: string, wave: number): Promise<CampaignWave | null> {
    return this.prisma.campaignWave.findUnique({ where: { campaignId_wave: { campaignId, wave } } });
  }

  /**
   * Writes a wave's checkpoint unless one exists, and returns the one that stands (`created`: this call wrote it):
   * two planners racing on a wave (a stalled job run twice) agree on the first one written.
   */
  async saveWave(wave: WaveCheckpoint): Promise<{ wave: CampaignWave; created: boolean }> {
    const inserted = await this.prisma.$queryRaw<Array<{ wave: number }>>`
      INSERT INTO campaign_waves (campaign_id, wave, after_id, last_id, size, batches, last, due_at, started_at, start_note, targeted)
      VALUES (CAST(${wave.campaignId} AS uuid), ${wave.wave}, ${wave.afterId}, ${wave.lastId}, ${wave.size}, ${wave.batches},
              ${wave.last}, ${wave.dueAt}, ${wave.startedAt}, ${wave.startNote}, ${wave.size})
      ON CONFLICT (campaign_id, wave) DO NOTHING
      RETURNING wave`;
    const saved = await this.findWave(wave.campaignId, wave.wave);
    if (!saved) throw new Error(`wave ${wave.wave} of campaign ${wave.campaignId} vanished after it was written`);
    return { wave: saved, created: inserted.length === 1 };
  }

  /**
   * The active devices among these ids, in no particular order (an id that is no device, or a deactivated one, is
   * simply absent); with `{ timezone: true }`, with their time zones. Read on every send batch (500 rows), so straight
   * through the pool Prisma uses (`PrismaService.pgPool`), as a prepared statement: Prisma's query compiler and row
   * mapping had cost more than the rows themselves, and each column read costs (the activity is a condition, not a
   * column). The rows come joined into one text value (device-text.ts: one string per batch instead of five per
   * device); should a value hold one of its separators, the batch is read again as rows. Ids in one or two runs of
   * consecutive ids (ascending, as the planner cuts a batch of a campaign partitioned by blocks) are read as id ranges
   * (id-ranges.ts), devices in the ranges' holes left out; others by `id = ANY`. The ids are the job's decimal ids
   * (`bigint` text); anything else fails the cast, as it did through Prisma.
   */
  activeDevices(ids: readonly string[]): Promise<SendableDevice[]>;
  activeDevices(ids: readonly string[], options: { timezone: true }): Promise<ZonedDevice[]>;
  async activeDevices(ids: readonly string[], options?: { timezone: true }): Promise<SendableDevice[]> {
    if (ids.length === 0) return [];
    const zone = options?.timezone === true;
    const pool = await this.prisma.pgPool();
    const ranged = idRanges(ids);
    // The ranges, or the ids as an array literal: decimal ids make it as they are (pg would quote and escape each);
    // anything else goes as pg spells it.
    let values: unknown[];
    if (ranged) values = ranged.ranges;
    else {
      const joined = `{${ids.join(',')}}`;
      values = [DECIMAL_LIST.test(joined) ? joined : ids];
    }
    const kind = `${zone ? 'zoned-' : ''}${ranged ? 'device-ranges' : 'devices'}`;
    const where = ranged ? IN_RANGES : BY_IDS;
    const joined = await pool.query<DeviceText>({
      name: `tidegate-dispatch-${kind}-text`,
      text: DEVICE_TEXT_SQL(zone, where),
      values,
      rowMode: 'array',
    });
    const [count, text] = joined.rows[0] as DeviceText;
    let devices = readDeviceText(count, text, zone, platformLabel);
    if (!devices) {
      // A value held a separator (device-text.ts): the same read row by row.
      this.logger.warn(`a batch's devices held a separator in a token or key: ${ids.length} ids read again as rows`);
      const result = await pool.query<DeviceRow>({
        name: `tidegate-dispatch-${kind}`,
        text: ranged ? DEVICE_RANGES_SQL(zone) : DEVICES_SQL(zone),
        values,
        rowMode: 'array',
      });
      devices = result.rows.map((r): SendableDevice | ZonedDevice =>
        zone
          ? { id: r[0], platform: platformLabel(r[1]), token: r[2], p256dh: r[3], auth: r[4], timezone: r[5] as string }
          : { id: r[0], platform: platformLabel(r[1]), token: r[2], p256dh: r[3], auth: r[4] },
      );
    }
    if (ranged && !ranged.exact) {
      // The ranges' holes may hold devices that are not in this batch.
      const wanted = new Set(ids);
      devices = devices.filter((d) => wanted.has(d.id));
    }
    return devices;
  }

  /** Deactivates devices whose token the provider says is gone; returns how many were still active. */
  async deactivate(entries: ReadonlyArray<{ deviceId: string; reason: string }>): Promise<number> {
    const byReason = new Map<string, string[]>();
    for (const e of entries) byReason.set(e.reason, [...(byReason.get(e.reason) ?? []), e.deviceId]);
    let changed = 0;
    for (const [reason, ids] of byReason) {
      changed += await this.prisma.$executeRaw`
        UPDATE devices SET active = false, deactivated_reason = ${reason}, updated_at = now()
        WHERE id = ANY(CAST(${ids} AS bigint[])) AND active`;
    }
    return changed;
  }

  /** Scheduled campaigns whose start time has come (oldest first). */
  async dueCampaigns(now: Date, limit = 100): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM campaigns
      WHERE status = 'scheduled' AND schedule->>'startAt' IS NOT NULL AND CAST(schedule->>'startAt' AS timestamptz) <= ${now}
      ORDER BY CAST(schedule->>'startAt' AS timestamptz) LIMIT ${limit}`;
    return rows.map((r) => r.id);
  }

  /**
   * Running campaigns with no wave yet, moved to running more than `graceMs` ago: the process that started them died
   * before queueing wave 1 (the clock queues it again; its job id makes that harmless).
   */
  async startedWithoutWaves(now: Date, graceMs: number, limit = 100): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
      SELECT c.id FROM campaigns c
      WHERE c.status = 'running' AND c.updated_at < ${new Date(now.getTime() - graceMs)}
        AND NOT EXISTS (SELECT 1 FROM campaign_waves w WHERE w.campaign_id = c.id)
      LIMIT ${limit}`;
    return rows.map((r) => r.id);
  }

  /** Running campaigns (not paused) with when their row last changed: the re-drive watchdog's candidates. */
  runningCampaigns(limit = 1000): Promise<Array<{ id: string; updatedAt: Date }>> {
    return this.prisma.campaign.findMany({ where: { status: 'running' }, select: { id: true, updatedAt: true }, take: limit });
  }

  /** Campaigns still sending or paused (their counters may change without a record: opens, the flush after a crash). */
  async liveCampaigns(limit = 1000): Promise<string[]> {
    const rows = await this.prisma.campaign.findMany({
      where: { status: { in: ['running', 'paused'] } },
      select: { id: true },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  /**
   * Writes a campaign's counters (absolute values, so flushing twice is harmless) and its waves' counters. `opened`
   * is not copied: PostgreSQL keeps its own exact count (CampaignRepository.recordOpen; the first flush counts the
   * opens recorded before the row existed).
   */
  async flushStats(
    campaignId: string,
    totals: DispatchCounters & { byProvider: Record<string, number>; waves: number },
    waves: ReadonlyArray<{ wave: number; finishedAt: Date | null } & DispatchCounters>,
  ): Promise<void> {
    const t = totals;
    const byProvider = JSON.stringify(t.byProvider);
    await this.prisma.$transaction([
      this.prisma.$executeRaw`
        INSERT INTO campaign_stats (campaign_id, targeted, sent, failed, invalid, skipped, inactive, opened, by_provider, waves, flushed_at)
        SELECT id, ${clampInt(t.targeted)}, ${clampInt(t.sent)}, ${clampInt(t.failed)}, ${clampInt(t.invalid)}, ${clampInt(t.skipped)},
               ${clampInt(t.inactive)}, (SELECT CAST(count(*) AS int) FROM campaign_opens WHERE campaign_id = CAST(${campaignId} AS uuid)),
               CAST(${byProvider} AS jsonb), ${clampInt(t.waves)}, now()
        FROM campaigns WHERE id = CAST(${campaignId} AS uuid)
        ON CONFLICT (campaign_id) DO UPDATE SET targeted = EXCLUDED.targeted, sent = EXCLUDED.sent, failed = EXCLUDED.failed,
          invalid = EXCLUDED.invalid, skipped = EXCLUDED.skipped, inactive = EXCLUDED.inactive,
          by_provider = EXCLUDED.by_provider, waves = EXCLUDED.waves, flushed_at = now()`,
      ...waves.map(
        (w) => this.prisma.$executeRaw`
        UPDATE campaign_waves SET targeted = ${clampInt(w.targeted)}, sent = ${clampInt(w.sent)}, failed = ${clampInt(w.failed)},
          invalid = ${clampInt(w.invalid)}, skipped = ${clampInt(w.skipped)}, inactive = ${clampInt(w.inactive)},
          finished_at = ${w.finishedAt}, flushed_at = now()
        WHERE campaign_id = CAST(${campaignId} AS uuid) AND wave = ${w.wave}`,
      ),
    ]);
  }

  /** Write-behind of the campaign's funnel (absolute values: flushing twice is harmless). */
  async flushFunnel(campaignId: string, f: FunnelFlush): Promise<void> {
    const waves = JSON.stringify(
      f.waves.map((w) => ({ wave: w.wave, opened: clampInt(w.opened), queued: clampInt(w.queued), admitted: clampInt(w.admitted) })),
    );
    const queueMs = JSON.stringify(f.queueMs.map(clampInt));
    const openDelay = JSON.stringify(f.openDelayMs.map(clampInt));
    await this.prisma.$executeRaw`
      INSERT INTO campaign_funnel (campaign_id, opened, queued, admitted, replayed, waves, queue_ms_buckets, open_delay_buckets, flushed_at)
      SELECT id, ${clampInt(f.opened)}, ${clampInt(f.queued)}, ${clampInt(f.admitted)}, ${clampInt(f.replayed)}, CAST(${waves} AS jsonb),
             CAST(${queueMs} AS jsonb), CAST(${openDelay} AS jsonb), now()
      FROM campaigns WHERE id = CAST(${campaignId} AS uuid)
      ON CONFLICT (campaign_id) DO UPDATE SET opened = EXCLUDED.opened, queued = EXCLUDED.queued, admitted = EXCLUDED.admitted,
        replayed = EXCLUDED.replayed, waves = EXCLUDED.waves, queue_ms_buckets = EXCLUDED.queue_ms_buckets,
        open_delay_buckets = EXCLUDED.open_delay_buckets, flushed_at = now()`;
  }
}
