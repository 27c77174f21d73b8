import { BadRequestException, ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { Caller } from '@tidegate/auth';
import {
  CampaignRepository,
  DeviceRepository,
  DispatchSettingsRepository,
  RoomRepository,
  type Campaign,
  type CampaignCursor,
  databaseUnavailable,
  type CampaignEvent,
  type Prisma,
} from '@tidegate/database';
import {
  EDITABLE_STATUSES,
  campaignLimits,
  decide,
  isEditable,
  planWaves,
  planningLimits,
  type PushPlatform,
  type WavePlan,
} from '@tidegate/domain';
import { CampaignActivityStore, REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import {
  MAX_CAMPAIGN_NAME_LENGTH,
  audiencePlatforms,
  campaignWarnings,
  checkCampaign,
  describe,
  fromWaveError,
  needsWaveDefaults,
  readContent,
  toApiAudience,
  toApiBody,
  toApiMessage,
  toApiSchedule,
  toApiWavePlan,
  type CampaignBody,
  type CampaignContent,
  type CampaignProblem,
  type StoredAudience,
} from './campaign-content';
import { CampaignStatsService } from './stats/campaign-stats.service';
import { DEFAULT_TIMELINE_PAGE } from './lifecycle/campaign-timeline';
import {
  UPDATABLE_FIELDS,
  type CampaignActivityView,
  type AudienceSizeView,
  type CampaignDetailView,
  type CampaignPageView,
  type CampaignStatsView,
  type CampaignView,
  type CreateCampaignDto,
  type ListCampaignsQuery,
  type PreviewCampaignDto,
  type PreviewView,
  type ScheduleCampaignDto,
  type TimelineQuery,
  type UpdateCampaignDto,
} from './campaigns.dto';

/** Who acted: the API key of the request. */
export type Actor = Pick<Caller, 'keyId' | 'keyName'>;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
const COPY_SUFFIX = ' (copy)';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 400 with one `field: reason` line per problem, and the same problems structured (`errors`) for forms. */
export function invalid(problems: CampaignProblem[]): BadRequestException {
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: problems.map(describe), errors: problems });
}

export function parseCampaignId(value: string): string {
  if (!UUID.test(value)) throw new BadRequestException(['id must be a campaign id (a UUID)']);
  return value.toLowerCase();
}

export function encodeCursor(c: CampaignCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString('base64url');
}

export function decodeCursor(value: string): CampaignCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    const createdAt = new Date(String(at));
    if (typeof at === 'string' && typeof id === 'string' && UUID.test(id) && !Number.isNaN(createdAt.getTime())) return { createdAt, id };
  } catch {
    // fall through
  }
  throw new BadRequestException(['cursor must be the next_cursor of a previous page']);
}

export function toCampaignView(campaign: Campaign): CampaignView {
  const content = readContent(campaign);
  return {
    id: campaign.id,
    name: campaign.name,
    status: campaign.status,
    status_reason: campaign.statusReason,
    message: toApiMessage(content.message),
    audience: toApiAudience(content.audience),
    schedule: toApiSchedule(content.schedule),
    wave_plan: toApiWavePlan(content.wavePlan),
    room_id: campaign.roomId,
    created_by: campaign.createdBy,
    created_at: campaign.createdAt,
    updated_at: campaign.updatedAt,
  };
}

function planView(plan: WavePlan): PreviewView['plan'] {
  return {
    start_at: plan.startAt,
    finishes_at: plan.finishesAt,
    wave_count: plan.waveCount,
    batch_count: plan.batchCount,
    rate_per_minute: plan.ratePerMinute,
    rate_limited_by: plan.rateLimitedBy,
    waves: plan.waves.map((w) => ({
      wave: w.wave,
      starts_at: w.startsAt,
      ends_at: w.endsAt,
      size: w.size,
      batches: w.batches,
      start_reason: w.startReason,
      segments: w.segments.map((s) => ({ from: s.from, to: s.to, messages: s.messages })),
    })),
  };
}

const columns = (content: CampaignContent) => ({
  message: content.message as object,
  audience: content.audience as object,
  schedule: content.schedule as object,
  wavePlan: content.wavePlan as object,
});

/**
 * Campaigns over the admin API: content (checked with libs/domain, libs/push and the segment rules), reads (with the
 * live stats and what the sender waits for), the timeline, and previews of the wave plan. Status changes are the
 * lifecycle's (lifecycle/campaign-lifecycle.ts).
 */
@Injectable()
export class CampaignsService {
  private readonly logger = new Logger('Campaigns');
  private readonly activity: CampaignActivityStore;

  constructor(
    private readonly campaigns: CampaignRepository,
    private readonly rooms: RoomRepository,
    private readonly devices: DeviceRepository,
    private readonly settings: DispatchSettingsRepository,
    private readonly stats: CampaignStatsService,
    @Inject(REDIS) redis: RedisClient,
    keys: RedisKeys,
  ) {
    this.activity = new CampaignActivityStore(redis, keys);
  }

  /** The clock (one place, so a subclass or a test can fix it). */
  protected now(): Date {
    return new Date();
  }

  async create(dto: CreateCampaignDto, actor: Actor): Promise<CampaignView> {
    const content = await this.check(dto as unknown as CampaignBody, {});
    const campaign = await this.campaigns.create({
      name: dto.name,
      ...columns(content),
      roomId: dto.room_id ?? null,
      createdBy: actor.keyName,
      statusReason: `created by ${actor.keyName}`,
    });
    this.audit(campaign.id, 'created', actor, `draft "${campaign.name}"`);
    return toCampaignView(campaign);
  }

  async list(query: ListCampaignsQuery): Promise<CampaignPageView> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    if (limit < 1 || limit > MAX_PAGE_SIZE) throw new BadRequestException([`limit must be from 1 to ${MAX_PAGE_SIZE}`]);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.campaigns.list({ limit: limit + 1, after, status: query.status });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toCampaignView),
      next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  /**
   * One campaign with its totals so far (live from Redis, or as last flushed to PostgreSQL) and what its sender waits
   * for right now. Lists carry neither.
   */
  async get(id: string): Promise<CampaignDetailView> {
    const campaign = await this.find(id);
    return { ...toCampaignView(campaign), stats: await this.stats.totals(campaign), activity: await this.activityOf(campaign) };
  }

  /** The counters of a campaign: totals, per provider and per wave (with the waves' times and sizes), and its activity. */
  async liveStats(id: string): Promise<CampaignStatsView> {
    let campaign: Campaign;
    try {
      campaign = await this.find(id);
    } catch (err) {
      // PostgreSQL out of reach: what Redis holds (the live counters and the status the lifecycle copied there), or
      // the 503 when Redis has nothing for this campaign either.
      if (!databaseUnavailable(err)) throw err;
      const fromRedis = await this.stats.fromRedisOnly(id).catch(() => null);
      if (!fromRedis) throw err;
      return { ...fromRedis, activity: fromRedis.status === 'running' ? await this.activityOf({ id, status: 'running' }) : null };
    }
    return {
      ...(await this.stats.detail(campaign)),
      status_reason: campaign.statusReason,
      activity: await this.activityOf(campaign),
      database: 'available',
    };
  }

  /** A page of the campaign's timeline, oldest first (one entry more than the page when another follows). */
  async timeline(id: string, query: TimelineQuery): Promise<{ rows: CampaignEvent[]; limit: number }> {
    await this.find(id);
    const limit = query.limit ?? DEFAULT_TIMELINE_PAGE;
    const rows = await this.campaigns.timeline(id, {
      afterId: query.after === undefined ? undefined : BigInt(query.after),
      limit: limit + 1,
    });
    return { rows, limit };
  }

  /**
   * The schedule a `POST /schedule` writes: the stored one with the body's start_at and send_window, checked like a
   * PATCH (400 listing every problem), and the start time, which must be in the future.
   */
  async scheduleFor(id: string, dto: ScheduleCampaignDto): Promise<{ startAt: string; schedule?: Prisma.InputJsonValue }> {
    const current = await this.find(id);
    // A campaign that cannot be scheduled gets the lifecycle's 409 before its body is judged.
    const decision = decide(current.status, 'schedule', 'api');
    if (!decision.ok) throw new ConflictException(`campaign ${id}: ${decision.message}`);
    const changes = dto.start_at !== undefined || dto.send_window !== undefined;
    let content = readContent(current);
    if (changes) {
      const merged: CampaignBody = { ...toApiBody(current.name, content, current.roomId) };
      merged.schedule = {
        ...merged.schedule,
        ...(dto.start_at !== undefined && { start_at: dto.start_at }),
        ...(dto.send_window !== undefined && { send_window: dto.send_window }),
      };
      content = await this.check(merged, { keepsStart: dto.start_at === undefined });
    }
    const problem = startProblem(content.schedule.startAt, this.now());
    if (problem) throw invalid([problem]);
    return { startAt: content.schedule.startAt as string, ...(changes && { schedule: content.schedule as object }) };
  }

  /** What the sender of a running campaign waits for right now; null when nothing (or when Redis cannot say). */
  private async activityOf(campaign: Pick<Campaign, 'id' | 'status'>): Promise<CampaignActivityView | null> {
    if (campaign.status !== 'running') return null;
    try {
      const a = await this.activity.read(campaign.id);
      return a && { state: a.state, reason: a.reason, message: a.message, since: new Date(a.since), wave: a.wave, figures: a.figures };
    } catch (err) {
      this.logger.warn(`campaign ${campaign.id}: its live activity could not be read: ${(err as Error).message}`);
      return null;
    }
  }

  async update(id: string, dto: UpdateCampaignDto, actor: Actor): Promise<CampaignView> {
    const fields = UPDATABLE_FIELDS.filter((f) => dto[f] !== undefined);
    if (fields.length === 0) throw new BadRequestException([`the body must set at least one of: ${UPDATABLE_FIELDS.join(', ')}`]);
    const current = await this.find(id);
    this.assertEditable(current);
    const merged: CampaignBody = { ...toApiBody(current.name, readContent(current), current.roomId) };
    for (const field of fields) Object.assign(merged, { [field]: dto[field] });
    // A start time kept as it was is not re-judged against the clock; a new one must not be in the past.
    const content = await this.check(merged, {
      keepsStart: dto.schedule === undefined,
      requireFutureStart: current.status === 'scheduled',
    });
    const result = await this.campaigns.updateContent(
      id,
      EDITABLE_STATUSES,
      { name: merged.name, ...columns(content), roomId: merged.room_id ?? null },
      current.updatedAt,
    );
    if (!result.ok) {
      if (!result.campaign) throw new NotFoundException(`no campaign with id ${id}`);
      this.assertEditable(result.campaign);
      throw new ConflictException(`campaign ${id} changed while it was being updated: try again`);
    }
    this.audit(id, 'updated', actor, `fields ${fields.join(', ')}`);
    return toCampaignView(result.campaign);
  }

  async clone(id: string, actor: Actor): Promise<CampaignView> {
    const source = await this.find(id);
    const name = `${source.name.slice(0, MAX_CAMPAIGN_NAME_LENGTH - COPY_SUFFIX.length)}${COPY_SUFFIX}`;
    const campaign = await this.campaigns.create({
      name,
      ...columns(readContent(source)),
      roomId: source.roomId,
      createdBy: actor.keyName,
      statusReason: `cloned from ${source.id} by ${actor.keyName}`,
    });
    this.audit(campaign.id, 'created', actor, `draft "${name}", a copy of ${source.id}`);
    return toCampaignView(campaign);
  }

  async previewStored(id: string): Promise<PreviewView> {
    return this.preview(readContent(await this.find(id)));
  }

  async previewBody(dto: PreviewCampaignDto): Promise<PreviewView> {
    return this.preview(await this.check(dto as unknown as CampaignBody, {}));
  }

  /** The wave plan for the audience's estimated size, from the start time (or now, if that has passed). Sends nothing. */
  private async preview(content: CampaignContent): Promise<PreviewView> {
    const now = this.now();
    const audience = await this.audienceSize(content.audience);
    const stored = content.schedule.startAt === null ? null : new Date(content.schedule.startAt);
    const startAt = stored && stored.getTime() > now.getTime() ? stored : now;
    const mix = audience.platform_mix;
    const result = planWaves(
      {
        audienceSize: audience.size,
        batchSize: content.wavePlan.batchSize,
        waveSize: content.wavePlan.waveSize,
        intervalSeconds: content.wavePlan.intervalSeconds,
        rateLimits: planningLimits(campaignLimits(content.wavePlan.rateLimits, await this.settings.get())),
        platformMix: mix && Object.values(mix).some((n) => n > 0) ? mix : null,
        sendWindow: content.schedule.sendWindow,
        startAt,
      },
      { now },
    );
    if (!result.ok) throw invalid(result.errors.map(fromWaveError));
    return { audience, plan: planView(result.plan), warnings: campaignWarnings(content, now) };
  }

  /** How many recipients: the inline list's length, or the segment's estimate (with one estimate per platform). */
  private async audienceSize(audience: StoredAudience): Promise<AudienceSizeView> {
    if ('deviceIds' in audience) return { size: audience.deviceIds.length, exact: true, method: 'list' };
    const total = await this.devices.estimate(audience.segment);
    const mix: Partial<Record<PushPlatform, number>> = {};
    for (const platform of audiencePlatforms(audience)) {
      mix[platform] = (await this.devices.estimate({ ...audience.segment, platforms: [platform] })).estimate;
    }
    return { size: total.estimate, exact: total.exact, method: total.method, platform_mix: mix };
  }

  /** Checks a body (content rules, then the room): its stored content, or 400 listing every problem. */
  private async check(body: CampaignBody, options: { keepsStart?: boolean; requireFutureStart?: boolean }): Promise<CampaignContent> {
    const now = this.now();
    // Wave-plan fields left out take the system settings of this moment, stored resolved with the campaign.
    const waveDefaults = needsWaveDefaults(body) ? await this.settings.get() : undefined;
    const checked = checkCampaign(body, { now, waveDefaults, startToleranceMs: options.keepsStart ? Infinity : undefined });
    const problems = checked.ok ? [] : [...checked.errors];
    if (checked.ok && options.requireFutureStart) {
      const problem = startProblem(checked.content.schedule.startAt, now);
      if (problem) problems.push({ ...problem, message: `${problem.message} (the campaign is scheduled)` });
    }
    if (body.room_id !== undefined && body.room_id !== null) {
      const room = await this.rooms.findById(body.room_id);
      if (!room) problems.push({ field: 'room_id', code: 'unknown_room', message: `no room with id ${JSON.stringify(body.room_id)}` });
      const budget = body.wave_plan?.max_wait_seconds;
      if (room && typeof budget === 'number' && budget > room.maxWaitSeconds) {
        problems.push({
          field: 'wave_plan.max_wait_seconds',
          code: 'out_of_range',
          message: `${budget} is above the max wait of room ${room.id} (${room.maxWaitSeconds} s): a campaign's budget is bounded by its room's`,
        });
      }
    }
    if (!checked.ok || problems.length > 0) throw invalid(problems);
    return checked.content;
  }

  private async find(id: string): Promise<Campaign> {
    const campaign = await this.campaigns.findById(id);
    if (!campaign) throw new NotFoundException(`no campaign with id ${id}`);
    return campaign;
  }

  private assertEditable(campaign: Campaign): void {
    if (!isEditable(campaign.status)) {
      throw new ConflictException(`campaign ${campaign.id} is ${campaign.status}: it can be changed only while draft or scheduled`);
    }
  }

  /** One structured log line per change: which campaign, what happened, who. */
  private audit(campaignId: string, action: string, actor: Actor, detail: string): void {
    this.logger.log({
      msg: `campaign ${campaignId} ${action} by ${actor.keyName}: ${detail}`,
      event: 'campaign.change',
      action,
      campaignId,
      actor: actor.keyName,
      actorKeyId: actor.keyId,
    });
  }
}

/** Why a campaign with this start cannot be scheduled: none, or in the past. */
function startProblem(startAt: string | null, now: Date): CampaignProblem | null {
  if (startAt === null) {
    return { field: 'schedule.start_at', code: 'required', message: 'is required to schedule a campaign (ISO 8601 with an offset)' };
  }
  if (new Date(startAt).getTime() <= now.getTime()) {
    return { field: 'schedule.start_at', code: 'in_the_past', message: `${startAt} is not in the future` };
  }
  return null;
}
