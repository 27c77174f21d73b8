/**
 * Campaign bodies and views. class-validator checks shapes and types here (a missing field, a string where a number
 * goes, an unknown key); ranges and meaning (batch size 1-500, a window ending before it starts, payload sizes per
 * provider, segment fields) are checked by `checkCampaign` (campaign-content.ts) with libs/domain, libs/push and
 * libs/database, so the rules live in one place.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { MAX_SEGMENT_LIST, type Segment } from '@tidegate/database';
import { CAMPAIGN_STATUSES, MAX_BATCH_SIZE, type CampaignStatus, type PushPlatform } from '@tidegate/domain';
import { SegmentDto } from '../devices/devices.dto';
import { MAX_CAMPAIGN_NAME_LENGTH, MAX_INLINE_DEVICE_IDS, MAX_WAIT_BUDGET_SECONDS } from './campaign-content';

/** Optional; null allowed (it clears the value). */
const Nullable = () => ValidateIf((_o: object, v: unknown) => v !== undefined && v !== null);
/** Optional, but not null. */
const OptionalNotNull = () => ValidateIf((_o: object, v: unknown) => v !== undefined);
/** A nested object validated by its class. */
const Nested = (type: () => new () => object) => (target: object, key: string | symbol) => {
  IsObject()(target, key);
  ValidateNested()(target, key);
  Type(type)(target, key);
};

const DATA_DOC = 'String values only; sent to the app on every platform (FCM data, APNs custom keys, the Web Push JSON)';

class ContentOverrideDto {
  @ApiPropertyOptional() @OptionalNotNull() @IsString() title?: string;
  @ApiPropertyOptional() @OptionalNotNull() @IsString() body?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, description: 'Merged over the message data' })
  @OptionalNotNull()
  @IsObject()
  data?: Record<string, string>;
  @ApiPropertyOptional() @OptionalNotNull() @IsString() deep_link?: string;
  @ApiPropertyOptional({ description: 'Image URL' }) @OptionalNotNull() @IsString() image?: string;
}

export class FcmOverrideDto extends ContentOverrideDto {
  @ApiPropertyOptional({ description: 'Android notification channel' }) @OptionalNotNull() @IsString() channel_id?: string;
  @ApiPropertyOptional() @OptionalNotNull() @IsString() sound?: string;
  @ApiPropertyOptional({ description: 'Android intent action opened on tap' }) @OptionalNotNull() @IsString() click_action?: string;
}

export class ApnsOverrideDto extends ContentOverrideDto {
  @ApiPropertyOptional() @OptionalNotNull() @IsString() sound?: string;
  @ApiPropertyOptional({ minimum: 0 }) @OptionalNotNull() @IsInt() badge?: number;
  @ApiPropertyOptional() @OptionalNotNull() @IsBoolean() mutable_content?: boolean;
  @ApiPropertyOptional() @OptionalNotNull() @IsString() thread_id?: string;
  @ApiPropertyOptional() @OptionalNotNull() @IsString() category?: string;
}

export class WebPushOverrideDto extends ContentOverrideDto {
  @ApiPropertyOptional() @OptionalNotNull() @IsString() icon?: string;
  @ApiPropertyOptional() @OptionalNotNull() @IsString() badge?: string;
  @ApiPropertyOptional() @OptionalNotNull() @IsString() tag?: string;
  @ApiPropertyOptional({ enum: ['very-low', 'low', 'normal', 'high'] })
  @OptionalNotNull()
  @IsIn(['very-low', 'low', 'normal', 'high'])
  urgency?: string;
}

export class OverridesDto {
  @ApiPropertyOptional({ type: FcmOverrideDto }) @OptionalNotNull() @Nested(() => FcmOverrideDto) fcm?: FcmOverrideDto;
  @ApiPropertyOptional({ type: ApnsOverrideDto }) @OptionalNotNull() @Nested(() => ApnsOverrideDto) apns?: ApnsOverrideDto;
  @ApiPropertyOptional({ type: WebPushOverrideDto }) @OptionalNotNull() @Nested(() => WebPushOverrideDto) webpush?: WebPushOverrideDto;
}

export class MessageDto {
  @ApiProperty({ example: 'Spring sale' }) @IsDefined() @IsString() title!: string;
  @ApiProperty({ example: 'Everything -30% until midnight' }) @IsDefined() @IsString() body!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, description: DATA_DOC })
  @OptionalNotNull()
  @IsObject()
  data?: Record<string, string>;
  @ApiPropertyOptional({ example: 'shop://sale', description: 'Sent in the data map as deep_link' })
  @OptionalNotNull()
  @IsString()
  deep_link?: string;
  @ApiPropertyOptional({ description: 'Image URL' }) @OptionalNotNull() @IsString() image?: string;
  @ApiPropertyOptional({ description: 'How long a provider keeps the message for an offline device (default 86400, at most 28 days)' })
  @OptionalNotNull()
  @IsInt()
  ttl_seconds?: number;
  @ApiPropertyOptional({ description: 'Messages with the same key replace each other on the device' })
  @OptionalNotNull()
  @IsString()
  collapse_key?: string;
  @ApiPropertyOptional({ enum: ['high', 'normal'], default: 'high' }) @OptionalNotNull() @IsIn(['high', 'normal']) priority?: string;
  @ApiPropertyOptional({ type: OverridesDto, description: 'Per-platform replacements of title, body, deep link, image; data is merged' })
  @OptionalNotNull()
  @Nested(() => OverridesDto)
  overrides?: OverridesDto;
}

export class AudienceDto {
  @ApiPropertyOptional({
    type: SegmentDto,
    description: `A segment (docs/devices.md): platforms, tagsAll, tagsAny, locales, timezones (lists of 1-${MAX_SEGMENT_LIST}), lastSeenAfter, lastSeenBefore, activeOnly`,
    example: { platforms: ['apns', 'fcm'], tagsAll: ['vip'] },
  })
  @Allow()
  segment?: Segment;
  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_INLINE_DEVICE_IDS,
    description: `Or: up to ${MAX_INLINE_DEVICE_IDS.toLocaleString('en')} device ids (decimal strings) listed inline`,
  })
  @Allow()
  device_ids?: string[];
}

export class SendWindowDto {
  @ApiProperty({ example: '01:00', description: 'HH:MM' }) @IsDefined() @IsString() start!: string;
  @ApiProperty({ example: '06:00', description: 'HH:MM (or 24:00), after start: a window never crosses midnight' })
  @IsDefined()
  @IsString()
  end!: string;
  @ApiProperty({ example: 'Europe/Paris', description: 'IANA time zone of the window' }) @IsDefined() @IsString() timezone!: string;
}

export class QuietHoursDto {
  @ApiProperty({ example: '22:00', description: "HH:MM in each recipient's own time zone" }) @IsDefined() @IsString() start!: string;
  @ApiProperty({ example: '08:00', description: 'HH:MM; before start means the quiet hours cross midnight' })
  @IsDefined()
  @IsString()
  end!: string;
}

export class ScheduleDto {
  @ApiPropertyOptional({
    type: 'string',
    nullable: true,
    example: '2026-06-15T01:00:00+02:00',
    description: 'When wave 1 may start: ISO 8601 with Z or an offset. Required to schedule.',
  })
  @Nullable()
  @IsString()
  start_at?: string | null;
  @ApiPropertyOptional({ type: SendWindowDto, nullable: true, description: 'Idle-hour send window; null or absent: any time' })
  @Nullable()
  @Nested(() => SendWindowDto)
  send_window?: SendWindowDto | null;
  @ApiPropertyOptional({ type: QuietHoursDto, nullable: true, description: "Recipients' local quiet hours: held until they end" })
  @Nullable()
  @Nested(() => QuietHoursDto)
  quiet_hours?: QuietHoursDto | null;
}

const RATE_DOC = 'Messages per minute, above 0; null or absent: no limit';

export class PerProviderDto {
  @ApiPropertyOptional({ type: 'number', nullable: true, description: `${RATE_DOC} (system default for FCM: 600000)` })
  @Nullable()
  @IsNumber()
  fcm?: number | null;
  @ApiPropertyOptional({ type: 'number', nullable: true, description: RATE_DOC }) @Nullable() @IsNumber() apns?: number | null;
  @ApiPropertyOptional({ type: 'number', nullable: true, description: RATE_DOC }) @Nullable() @IsNumber() webpush?: number | null;
}

export class RateLimitsDto {
  @ApiPropertyOptional({ type: 'number', nullable: true, description: `The whole system's rate: ${RATE_DOC}` })
  @Nullable()
  @IsNumber()
  global?: number | null;
  @ApiPropertyOptional({ type: 'number', nullable: true, description: `This campaign's rate: ${RATE_DOC}` })
  @Nullable()
  @IsNumber()
  campaign?: number | null;
  @ApiPropertyOptional({ type: PerProviderDto, nullable: true, description: "Each provider's quota" })
  @Nullable()
  @Nested(() => PerProviderDto)
  per_provider?: PerProviderDto | null;
}

const DEFAULTED = 'absent: the system default (GET /admin/dispatch/settings), stored with the campaign';

export class WavePlanDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_BATCH_SIZE, example: 500, description: `Recipients per send job; ${DEFAULTED}` })
  @OptionalNotNull()
  @IsNumber()
  batch_size?: number;
  @ApiPropertyOptional({ minimum: 1, example: 50_000, description: `Recipients per wave, at least batch_size; ${DEFAULTED}` })
  @OptionalNotNull()
  @IsNumber()
  wave_size?: number;
  @ApiPropertyOptional({ minimum: 0, example: 600, description: `Seconds from one wave's start to the next's, at least; ${DEFAULTED}` })
  @OptionalNotNull()
  @IsNumber()
  interval_seconds?: number;
  @ApiPropertyOptional({ type: RateLimitsDto, nullable: true }) @Nullable() @Nested(() => RateLimitsDto) rate_limits?: RateLimitsDto | null;
  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: MAX_WAIT_BUDGET_SECONDS,
    example: 300,
    description:
      "The wait budget of the surge this campaign causes, seconds: pacing keeps the room's predicted max wait within it; at most the room's max_wait_seconds. null or absent: the room's",
  })
  @Nullable()
  @IsNumber()
  max_wait_seconds?: number | null;
  @ApiPropertyOptional({
    default: true,
    description:
      "Closed-loop pacing by the room's live state (false: waves leave as planned and nothing holds them; the room still protects the origin)",
  })
  @OptionalNotNull()
  @IsBoolean()
  pacing?: boolean;
}

/** A saved campaign's wave plan: every field resolved. */
export class WavePlanView {
  @ApiProperty({ minimum: 1, maximum: MAX_BATCH_SIZE }) batch_size!: number;
  @ApiProperty({ minimum: 1 }) wave_size!: number;
  @ApiProperty({ minimum: 0 }) interval_seconds!: number;
  @ApiProperty({ type: RateLimitsDto, nullable: true }) rate_limits!: RateLimitsDto | null;
  @ApiProperty({ type: 'integer', nullable: true, description: "The wait budget, seconds; null: the room's max_wait_seconds" })
  max_wait_seconds!: number | null;
  @ApiProperty({ description: 'Closed-loop pacing by the room' }) pacing!: boolean;
}

const NAME_DOC = { example: 'Spring sale, France', maxLength: MAX_CAMPAIGN_NAME_LENGTH };
const ROOM_DOC = {
  type: 'string',
  nullable: true,
  example: 'spring-sale',
  description: 'The waiting room in front of the origin users reach after the push (it paces the waves)',
} as const;

/** Everything a campaign is made of but its name. */
class CampaignFieldsDto {
  @ApiProperty({ type: MessageDto }) @IsDefined() @Nested(() => MessageDto) message!: MessageDto;
  @ApiProperty({ type: AudienceDto, description: 'Exactly one of segment or device_ids' }) @IsDefined() @IsObject() audience!: AudienceDto;
  @ApiPropertyOptional({ type: ScheduleDto }) @OptionalNotNull() @Nested(() => ScheduleDto) schedule?: ScheduleDto;
  @ApiPropertyOptional({ type: WavePlanDto, description: `Sizes and interval of the waves, rate limits; ${DEFAULTED}` })
  @OptionalNotNull()
  @Nested(() => WavePlanDto)
  wave_plan?: WavePlanDto;
  @ApiPropertyOptional(ROOM_DOC) @Nullable() @IsString() room_id?: string | null;
}

export class CreateCampaignDto extends CampaignFieldsDto {
  @ApiProperty(NAME_DOC) @IsDefined() @IsString() @IsNotEmpty() @MaxLength(MAX_CAMPAIGN_NAME_LENGTH) name!: string;
}

/** The unsaved campaign a preview plans: the create body, name optional. */
export class PreviewCampaignDto extends CampaignFieldsDto {
  @ApiPropertyOptional(NAME_DOC) @OptionalNotNull() @IsString() @IsNotEmpty() @MaxLength(MAX_CAMPAIGN_NAME_LENGTH) name?: string;
}

/** Top-level fields replace the stored ones whole (send the whole schedule to change its window). */
export class UpdateCampaignDto {
  @ApiPropertyOptional(NAME_DOC) @OptionalNotNull() @IsString() @IsNotEmpty() @MaxLength(MAX_CAMPAIGN_NAME_LENGTH) name?: string;
  @ApiPropertyOptional({ type: MessageDto }) @OptionalNotNull() @Nested(() => MessageDto) message?: MessageDto;
  @ApiPropertyOptional({ type: AudienceDto }) @OptionalNotNull() @IsObject() audience?: AudienceDto;
  @ApiPropertyOptional({ type: ScheduleDto }) @OptionalNotNull() @Nested(() => ScheduleDto) schedule?: ScheduleDto;
  @ApiPropertyOptional({ type: WavePlanDto }) @OptionalNotNull() @Nested(() => WavePlanDto) wave_plan?: WavePlanDto;
  @ApiPropertyOptional({ ...ROOM_DOC, description: `${ROOM_DOC.description}; null removes it` }) @Nullable() @IsString() room_id?:
    string | null;
}

export const UPDATABLE_FIELDS = ['name', 'message', 'audience', 'schedule', 'wave_plan', 'room_id'] as const;

export class TransitionDto {
  @ApiPropertyOptional({ maxLength: 500, description: 'Why (recorded as status_reason)' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class ScheduleCampaignDto extends TransitionDto {
  @ApiPropertyOptional({
    type: 'string',
    example: '2026-06-15T01:00:00+02:00',
    description: "When wave 1 may start (ISO 8601 with Z or an offset, in the future); absent: the campaign's stored schedule.start_at",
  })
  @OptionalNotNull()
  @IsString()
  start_at?: string;
  @ApiPropertyOptional({
    type: SendWindowDto,
    nullable: true,
    description: 'Replaces the idle-hour send window (null: any time); absent: the stored one is kept',
  })
  @Nullable()
  @Nested(() => SendWindowDto)
  send_window?: SendWindowDto | null;
}

export class ListCampaignsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  limit?: number;
  @ApiPropertyOptional({ description: 'next_cursor of the previous page' }) @IsOptional() @IsString() cursor?: string;
  @ApiPropertyOptional({ enum: CAMPAIGN_STATUSES }) @IsOptional() @IsIn([...CAMPAIGN_STATUSES]) status?: CampaignStatus;
}

// ---- Views --------------------------------------------------------------------------------------------------------

export class CampaignView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: CAMPAIGN_STATUSES }) status!: CampaignStatus;
  @ApiProperty({ type: 'string', nullable: true, description: 'Why the campaign is in its status, and who moved it there' })
  status_reason!: string | null;
  @ApiProperty({ type: MessageDto }) message!: Record<string, unknown>;
  @ApiProperty({ type: AudienceDto }) audience!: { segment?: Segment; device_ids?: string[] };
  @ApiProperty({ type: ScheduleDto }) schedule!: ScheduleDto;
  @ApiProperty({ type: WavePlanView }) wave_plan!: WavePlanView;
  @ApiProperty({ type: 'string', nullable: true }) room_id!: string | null;
  @ApiProperty({ type: 'string', nullable: true, description: 'The name of the API key that created it' }) created_by!: string | null;
  @ApiProperty() created_at!: Date;
  @ApiProperty() updated_at!: Date;
}

/** What the sender of a running campaign is waiting for right now (null: nothing, it sends as fast as it may). */
export class CampaignActivityView {
  @ApiProperty({ enum: ['held'], description: 'held: the next wave or batches wait' }) state!: 'held';
  @ApiProperty({
    example: 'room_pressure',
    description:
      'room_pressure (the waiting room is full), window (outside the send window), previous_wave (an earlier wave is still sending)',
  })
  reason!: string;
  @ApiProperty({ description: 'The reason in words, with the figures' }) message!: string;
  @ApiProperty({ description: 'Since when' }) since!: Date;
  @ApiProperty({ type: 'integer', nullable: true, description: 'The wave that waits' }) wave!: number | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The figures behind the decision' })
  figures!: Record<string, unknown>;
}

export class TimelineEntryView {
  @ApiProperty({ description: 'Position on the timeline (pass as after for the next page)' }) id!: string;
  @ApiProperty() at!: Date;
  @ApiProperty({
    example: 'auto_pause',
    description:
      'A transition (schedule, start, clock_start, pause, auto_pause, resume, resend, cancel, complete, fail) or a decision of the sender (held, released, resent, redriven)',
  })
  kind!: string;
  @ApiProperty({ type: 'string', nullable: true, enum: CAMPAIGN_STATUSES }) from_status!: CampaignStatus | null;
  @ApiProperty({ type: 'string', nullable: true, enum: CAMPAIGN_STATUSES }) to_status!: CampaignStatus | null;
  @ApiProperty({ description: "The API key's name, or the part of the system (clock, worker, error-rate guard, planner, watchdog)" })
  actor!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true, description: 'The figures behind it, as they were' })
  figures!: Record<string, unknown> | null;
}

export class TimelinePageView {
  @ApiProperty({ type: [TimelineEntryView], description: 'Oldest first' }) items!: TimelineEntryView[];
  @ApiProperty({ type: 'string', nullable: true, description: 'Pass as after for the next page; null on the last page' })
  next_after!: string | null;
}

export class TimelineQuery {
  @ApiPropertyOptional({ description: 'Entries after this id (next_after of the previous page)' })
  @IsOptional()
  @Matches(/^[0-9]{1,18}$/, { message: 'after must be the next_after of a previous page' })
  after?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class ResendView {
  @ApiProperty({ type: () => CampaignView }) campaign!: CampaignView;
  @ApiProperty({ description: 'Recipients queued again' }) resent!: number;
}

export class CampaignPageView {
  @ApiProperty({ type: [CampaignView], description: 'Newest first' }) items!: CampaignView[];
  @ApiProperty({ type: 'string', nullable: true, description: 'Pass as cursor for the next page; null on the last page' })
  next_cursor!: string | null;
}

export class PlanSegmentView {
  @ApiProperty() from!: Date;
  @ApiProperty() to!: Date;
  @ApiProperty({ description: 'Messages expected in this stretch of open window' }) messages!: number;
}

export class PlannedWaveView {
  @ApiProperty({ description: '1-based' }) wave!: number;
  @ApiProperty() starts_at!: Date;
  @ApiProperty({ description: 'When its last message is expected to go out' }) ends_at!: Date;
  @ApiProperty() size!: number;
  @ApiProperty({ description: 'Send jobs: ceil(size / batch_size)' }) batches!: number;
  @ApiProperty({ enum: ['scheduled', 'interval', 'previous_wave', 'window'] }) start_reason!: string;
  @ApiProperty({ type: [PlanSegmentView], description: 'More than one when the window closed while the wave was sending' })
  segments!: PlanSegmentView[];
}

export class PlanView {
  @ApiProperty() start_at!: Date;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'null for an empty audience' })
  finishes_at!: Date | null;
  @ApiProperty() wave_count!: number;
  @ApiProperty() batch_count!: number;
  @ApiProperty({ type: 'number', nullable: true, description: 'Effective messages per minute; null: no limit applies' })
  rate_per_minute!: number | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'provider:fcm' }) rate_limited_by!: string | null;
  @ApiProperty({ type: [PlannedWaveView] }) waves!: PlannedWaveView[];
}

export class AudienceSizeView {
  @ApiProperty({ description: 'Recipients the plan is for' }) size!: number;
  @ApiProperty({ description: 'true when counted (or listed) exactly' }) exact!: boolean;
  @ApiProperty({ enum: ['count', 'planner', 'list'], description: 'count or planner: the segment estimate; list: device_ids' })
  method!: 'count' | 'planner' | 'list';
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'number' }, description: 'Estimated recipients per platform' })
  platform_mix?: Partial<Record<PushPlatform, number>>;
}

export class PreviewView {
  @ApiProperty({ type: AudienceSizeView }) audience!: AudienceSizeView;
  @ApiProperty({ type: PlanView }) plan!: PlanView;
  @ApiProperty({ type: [String] }) warnings!: string[];
}

// ---- Live stats ---------------------------------------------------------------------------------------------------

const STATS_SOURCE = {
  enum: ['redis', 'postgres', 'none'],
  description:
    'redis: live counters; postgres: the counters last flushed to PostgreSQL (Redis has none for this campaign); ' +
    'none: no counters yet (nothing was sent: a draft or scheduled campaign)',
};

export class WaveCountersView {
  @ApiProperty({ description: 'Recipients in the wave (or the campaign) when it was materialised' }) targeted!: number;
  @ApiProperty({ description: 'Accepted by the provider' }) sent!: number;
  @ApiProperty({ description: 'Refused after every attempt, or a permanent error' }) failed!: number;
  @ApiProperty({ description: 'The provider said the token is no longer valid (the device was deactivated)' }) invalid!: number;
  @ApiProperty({ description: "Held for the recipient's quiet hours (counted once)" }) skipped!: number;
  @ApiProperty({ description: 'The device was deactivated before its turn' }) inactive!: number;
}

/** A campaign's totals: what GET /admin/campaigns/:id shows. */
export class CampaignTotalsView extends WaveCountersView {
  @ApiProperty({ description: 'Distinct openers reported (POST /admin/campaigns/:id/opens): users, or devices without a user' })
  opened!: number;
  @ApiProperty(STATS_SOURCE) source!: 'redis' | 'postgres' | 'none';
}

/** One campaign as GET /admin/campaigns/:id shows it: the campaign and its totals so far. */
export class CampaignDetailView extends CampaignView {
  @ApiProperty({ type: CampaignTotalsView }) stats!: CampaignTotalsView;
  @ApiProperty({ type: CampaignActivityView, nullable: true, description: 'What the sender waits for right now, live; null: nothing' })
  activity!: CampaignActivityView | null;
}

export class ProviderCountsView {
  @ApiProperty() fcm!: number;
  @ApiProperty() apns!: number;
  @ApiProperty() webpush!: number;
}

export class WaveStatsView extends WaveCountersView {
  @ApiProperty({ description: '1-based' }) wave!: number;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Recipients materialised for the wave (null: no PostgreSQL row yet)' })
  size!: number | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'When the plan wanted the wave to leave' })
  due_at!: Date | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'When it did' })
  started_at!: Date | null;
  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'When its last recipient had an outcome or was held for quiet hours (null while it sends)',
  })
  finished_at!: Date | null;
  @ApiProperty({ type: 'string', nullable: true, description: 'Why it left when it did (interval, window, room_pressure…)' })
  start_note!: string | null;
}

/** One step of the funnel each: sent (accepted by the provider) -> opened -> queued -> admitted. */
export class FunnelStepsView {
  @ApiProperty({ description: 'Accepted by the provider (each carried a wave ticket)' }) sent!: number;
  @ApiProperty({ description: 'Devices whose wave ticket was presented at the gateway of the campaign’s room (once per device)' })
  opened!: number;
  @ApiProperty({ description: 'Of those, visitors that got a place in the line (or in at once) on that visit' }) queued!: number;
  @ApiProperty({ description: 'Of those, visitors that got in' }) admitted!: number;
}

export class WaveFunnelView extends FunnelStepsView {
  @ApiProperty({ description: '1-based' }) wave!: number;
}

export class DurationQuantilesView {
  @ApiProperty({ description: 'Durations measured' }) samples!: number;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Median, ms (within its √2-wide bucket); null without samples' })
  p50_ms!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, description: '95th percentile, ms (within its √2-wide bucket)' }) p95_ms!: number | null;
}

/** The campaign's funnel (docs/dispatch.md, "The funnel"): totals, per wave, and the durations. */
export class CampaignFunnelView extends FunnelStepsView {
  @ApiProperty({ description: 'Presentations of an already-counted ticket by another device (X-Device-Id): counted nothing else' })
  replayed!: number;
  @ApiProperty({ type: DurationQuantilesView, description: 'Time in the queue of attributed visitors (0 for those in at once)' })
  queue_time!: DurationQuantilesView;
  @ApiProperty({ type: DurationQuantilesView, description: 'From the send to the tap (the ticket presented), attributed opens' })
  open_delay!: DurationQuantilesView;
  @ApiProperty({ type: [WaveFunnelView] }) waves!: WaveFunnelView[];
}

export class CampaignStatsView extends CampaignTotalsView {
  @ApiProperty({ format: 'uuid' }) campaign_id!: string;
  @ApiProperty({ enum: CAMPAIGN_STATUSES }) status!: CampaignStatus;
  @ApiProperty({ type: 'string', nullable: true, description: 'Why the campaign is in its status, and who moved it there' })
  status_reason!: string | null;
  @ApiProperty({ type: CampaignActivityView, nullable: true, description: 'What the sender waits for right now, live; null: nothing' })
  activity!: CampaignActivityView | null;
  @ApiProperty({
    enum: ['available', 'unavailable'],
    description:
      'unavailable: PostgreSQL was out of reach and this answer comes from Redis alone (the live counters and the status as last copied there; waves carry no times or sizes)',
  })
  database!: 'available' | 'unavailable';
  @ApiProperty({ type: ProviderCountsView, description: 'Sent per provider' }) by_provider!: ProviderCountsView;
  @ApiProperty({ description: 'Waves materialised so far' }) waves_planned!: number;
  @ApiProperty({ type: 'integer', nullable: true, description: "The last wave's number once it is planned" }) final_wave!: number | null;
  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    description: 'When the counters were flushed to PostgreSQL (source postgres only)',
  })
  flushed_at!: Date | null;
  @ApiProperty({ type: [WaveStatsView] }) waves!: WaveStatsView[];
  @ApiProperty({ type: CampaignFunnelView, description: 'sent -> opened -> queued -> admitted, from the wave tickets' })
  funnel!: CampaignFunnelView;
}
