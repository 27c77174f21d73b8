import { Injectable } from '@nestjs/common';
import {
  Prisma,
  type Campaign,
  type CampaignEvent,
  type CampaignStats,
  type CampaignStatus,
  type CampaignWave,
  type SettingChange,
} from '@prisma/client';
import { settingChangeData, type SettingChangeInput } from './dispatch-settings.repository';
import { PrismaService } from './prisma.service';

/**
 * A campaign's content as stored: the four JSON columns (their shapes are owned by the scheduler's campaign code,
 * apps/scheduler/src/campaigns/campaign-content.ts), the name and the optional room.
 */
export interface FlushedFunnelRow {
  opened: number;
  queued: number;
  admitted: number;
  replayed: number;
  waves: unknown;
  queueMs: unknown;
  openDelayMs: unknown;
}

export interface CampaignContentData {
  name: string;
  message: Prisma.InputJsonValue;
  audience: Prisma.InputJsonValue;
  schedule: Prisma.InputJsonValue;
  wavePlan: Prisma.InputJsonValue;
  roomId: string | null;
}

export interface CampaignCreateData extends CampaignContentData {
  createdBy: string | null;
  statusReason?: string | null;
}

/** A page position: the last campaign of the previous page (the list is ordered by created_at, then id, descending). */
export interface CampaignCursor {
  createdAt: Date;
  id: string;
}

export interface CampaignListOptions {
  limit: number;
  after?: CampaignCursor;
  status?: CampaignStatus;
}

/** An update refused because the campaign is not in one of the statuses the caller required. */
export type ConditionalResult = { ok: true; campaign: Campaign } | { ok: false; campaign: Campaign | null };

export interface WavePlanUpdateOptions {
  /** Also require the stored wave plan to equal this (as JSON): refused if another change landed since it was read. */
  expected?: Prisma.JsonValue;
  /** A change-log entry written in the same transaction as the new plan, only if the plan was written. */
  change?: SettingChangeInput;
}

/** One entry of a campaign's timeline, as written (the row adds its id and time). */
export interface CampaignEventInput {
  kind: string;
  actor: string;
  actorKeyId?: string | null;
  reason: string;
  figures?: Prisma.InputJsonValue | null;
}

export type WavePlanUpdateResult = ConditionalResult & { change?: SettingChange };

/** A campaign's counters as last flushed to PostgreSQL (write-behind from Redis), and its waves in order. */
export interface CampaignFlushedStats {
  stats: CampaignStats | null;
  waves: CampaignWave[];
}

/**
 * Campaigns in PostgreSQL. Status changes are compare-and-set (`UPDATE … WHERE status IN (…)`), so two requests (or
 * an admin request and a worker) racing on one campaign cannot both win: the loser sees the status that beat it.
 */
@Injectable()
export class CampaignRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: CampaignCreateData): Promise<Campaign> {
    return this.prisma.campaign.create({
      data: {
        name: data.name,
        message: data.message,
        audience: data.audience,
        schedule: data.schedule,
        wavePlan: data.wavePlan,
        roomId: data.roomId,
        createdBy: data.createdBy,
        statusReason: data.statusReason ?? null,
      },
    });
  }

  findById(id: string): Promise<Campaign | null> {
    return this.prisma.campaign.findUnique({ where: { id } });
  }

  /** Newest first (created_at, then id, descending), `limit` at most, after the cursor when given. */
  list(options: CampaignListOptions): Promise<Campaign[]> {
    const where: Prisma.CampaignWhereInput = {};
    if (options.status) where.status = options.status;
    if (options.after) {
      where.OR = [{ createdAt: { lt: options.after.createdAt } }, { createdAt: options.after.createdAt, id: { lt: options.after.id } }];
    }
    return this.prisma.campaign.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: options.limit });
  }

  /**
   * Replaces the content of a campaign whose status is one of `statuses` and, when `readAt` is given, that nobody
   * changed since it was read at that `updatedAt` (an SRE's rate change must not be overwritten by a stale edit).
   */
  async updateContent(
    id: string,
    statuses: readonly CampaignStatus[],
    data: Partial<CampaignContentData>,
    readAt?: Date,
  ): Promise<ConditionalResult> {
    const { count } = await this.prisma.campaign.updateMany({
      where: { id, status: { in: [...statuses] }, ...(readAt && { updatedAt: readAt }) },
      data,
    });
    const campaign = await this.findById(id);
    return count === 1 && campaign ? { ok: true, campaign } : { ok: false, campaign };
  }

  /**
   * Replaces the wave plan of a campaign whose status is one of `statuses` (and, with `expected`, whose plan is still
   * the one read), with the change-log entry in the same transaction. The sending workers re-read the plan each wave.
   */
  updateWavePlan(
    id: string,
    statuses: readonly CampaignStatus[],
    wavePlan: Prisma.InputJsonValue,
    options: WavePlanUpdateOptions = {},
  ): Promise<WavePlanUpdateResult> {
    return this.prisma.$transaction(async (tx) => {
      const where: Prisma.CampaignWhereInput = { id, status: { in: [...statuses] } };
      if (options.expected !== undefined) where.wavePlan = { equals: options.expected ?? Prisma.JsonNull };
      const { count } = await tx.campaign.updateMany({ where, data: { wavePlan } });
      const campaign = await tx.campaign.findUnique({ where: { id } });
      if (count !== 1 || !campaign) return { ok: false, campaign };
      const change = options.change ? await tx.settingChange.create({ data: settingChangeData(options.change) }) : undefined;
      return { ok: true, campaign, change };
    });
  }

  /**
   * The counters flushed to PostgreSQL (the fallback when Redis has lost the live ones) and the waves materialised so
   * far, in order (due and start times, sizes).
   */
  async flushedStats(id: string): Promise<CampaignFlushedStats> {
    const [stats, waves] = await Promise.all([
      this.prisma.campaignStats.findUnique({ where: { campaignId: id } }),
      this.prisma.campaignWave.findMany({ where: { campaignId: id }, orderBy: { wave: 'asc' } }),
    ]);
    return { stats, waves };
  }

  /** The funnel last flushed for the campaign (raw JSON columns: the caller validates them), or null. */
  async flushedFunnel(id: string): Promise<FlushedFunnelRow | null> {
    const rows = await this.prisma.$queryRaw<FlushedFunnelRow[]>`
      SELECT opened, queued, admitted, replayed, waves, queue_ms_buckets AS "queueMs", open_delay_buckets AS "openDelayMs"
      FROM campaign_funnel WHERE campaign_id = CAST(${id} AS uuid)`;
    return rows[0] ?? null;
  }

  /**
   * What the room's past campaigns measured (completed ones, newest first, at most `limit`): how many were sent and
   * opened, and their send→tap delay buckets. The forecast learns its open model from them.
   */
  roomHistory(roomId: string, limit = 20): Promise<Array<{ sent: number; opened: number; openDelayMs: unknown }>> {
    return this.prisma.$queryRaw<Array<{ sent: number; opened: number; openDelayMs: unknown }>>`
      SELECT s.sent, f.opened, f.open_delay_buckets AS "openDelayMs"
      FROM campaigns c JOIN campaign_funnel f ON f.campaign_id = c.id JOIN campaign_stats s ON s.campaign_id = c.id
      WHERE c.room_id = ${roomId} AND c.status = 'completed' AND s.sent > 0
      ORDER BY c.updated_at DESC LIMIT ${limit}`;
  }

  /**
   * Records that `opener` (`user:<id>` or `device:<id>`) opened the campaign's message. Each opener counts once per
   * campaign (the primary key; `ON CONFLICT DO NOTHING`): true when this call counted it, false when it already was.
   */
  async recordOpen(campaignId: string, opener: string, deviceId: bigint | null): Promise<boolean> {
    // One statement: the open and, only if it is new, one more on the flushed counters (campaign_stats.opened is
    // kept here, exactly, not copied from Redis by the write-behind).
    const [row] = await this.prisma.$queryRaw<Array<{ n: number }>>`
      WITH inserted AS (
        INSERT INTO campaign_opens (campaign_id, opener, device_id) VALUES (CAST(${campaignId} AS uuid), ${opener}, ${deviceId})
        ON CONFLICT DO NOTHING RETURNING 1
      ), counted AS (
        UPDATE campaign_stats SET opened = opened + 1
        WHERE campaign_id = CAST(${campaignId} AS uuid) AND EXISTS (SELECT 1 FROM inserted) RETURNING 1
      )
      SELECT CAST(count(*) AS int) AS n FROM inserted`;
    return row?.n === 1;
  }

  /**
   * Moves a campaign to `to` if its status is one of `from`, recording why (`status_reason`) and the timeline entry in
   * the same transaction. Not ok when the campaign is missing (campaign null) or in another status (the current row,
   * for the 409); then nothing is written. With `unchangedSince` (the `updatedAt` of the row the caller decided on),
   * also not ok if the row was written since (a pause and a resume in between leave the status as it was).
   */
  transition(
    id: string,
    from: readonly CampaignStatus[],
    to: CampaignStatus,
    event: CampaignEventInput,
    extra: Partial<CampaignContentData> = {},
    unchangedSince?: Date,
  ): Promise<ConditionalResult & { event?: CampaignEvent }> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.campaign.updateMany({
        where: { id, status: { in: [...from] }, ...(unchangedSince && { updatedAt: unchangedSince }) },
        data: { ...extra, status: to, statusReason: event.reason },
      });
      const campaign = await tx.campaign.findUnique({ where: { id } });
      if (count !== 1 || !campaign) return { ok: false as const, campaign };
      const row = await tx.campaignEvent.create({ data: eventData(id, event, from.length === 1 ? (from[0] ?? null) : null, to) });
      // The status before is the one the compare-and-set matched: exact when one source was allowed.
      return { ok: true as const, campaign, event: row };
    });
  }

  /** Adds a timeline entry that changes no status (a decision of the sender: held, released, redriven…). */
  recordEvent(id: string, event: CampaignEventInput, status: CampaignStatus | null = null): Promise<CampaignEvent> {
    return this.prisma.campaignEvent.create({ data: eventData(id, event, status, status) });
  }

  /** The timeline in order, `limit` entries after the entry `afterId` (exclusive). */
  timeline(id: string, options: { afterId?: bigint; limit: number }): Promise<CampaignEvent[]> {
    return this.prisma.campaignEvent.findMany({
      where: { campaignId: id, ...(options.afterId !== undefined && { id: { gt: options.afterId } }) },
      orderBy: { id: 'asc' },
      take: options.limit,
    });
  }
}

function eventData(campaignId: string, e: CampaignEventInput, fromStatus: string | null, toStatus: string | null) {
  return {
    campaignId,
    kind: e.kind,
    fromStatus,
    toStatus,
    actor: e.actor,
    actorKeyId: e.actorKeyId ?? null,
    reason: e.reason,
    figures: e.figures ?? Prisma.JsonNull,
  };
}
