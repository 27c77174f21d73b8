/**
 * Bodies and views of run-time tuning: the system dispatch settings, a campaign's rate and wave size, the change log,
 * and opens. class-validator checks shapes (types, unknown keys); the ranges are the rules of libs/domain
 * (dispatch-settings-rules.ts, validateWavePlan), judged on the merged result, so they live in one place.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

/** Optional; null allowed (no limit). */
const Nullable = () => ValidateIf((_o: object, v: unknown) => v !== undefined && v !== null);
/** Optional, but not null. */
const OptionalNotNull = () => ValidateIf((_o: object, v: unknown) => v !== undefined);
const Nested = (type: () => new () => object) => (target: object, key: string | symbol) => {
  IsObject()(target, key);
  ValidateNested()(target, key);
  Type(type)(target, key);
};

export const MAX_REASON_LENGTH = 500;
const RATE = 'Messages per minute, above 0; null: no limit';
const REASON = { maxLength: MAX_REASON_LENGTH, description: 'Why (recorded in the change log)', example: 'origin slow after deploy' };

// ---- System settings ----------------------------------------------------------------------------------------------

export class ProviderRatesDto {
  @ApiPropertyOptional({ type: 'number', nullable: true, description: `${RATE} (default 600000, FCM's project quota)` })
  @Nullable()
  @IsNumber()
  fcm?: number | null;
  @ApiPropertyOptional({ type: 'number', nullable: true, description: RATE }) @Nullable() @IsNumber() apns?: number | null;
  @ApiPropertyOptional({ type: 'number', nullable: true, description: RATE }) @Nullable() @IsNumber() webpush?: number | null;
}

export class SettingsRateLimitsDto {
  @ApiPropertyOptional({ type: 'number', nullable: true, description: `The whole system's sending rate: ${RATE}` })
  @Nullable()
  @IsNumber()
  global?: number | null;
  @ApiPropertyOptional({ type: ProviderRatesDto, description: "Each provider's quota; providers left out keep theirs" })
  @OptionalNotNull()
  @Nested(() => ProviderRatesDto)
  per_provider?: ProviderRatesDto;
}

export class ErrorRateDto {
  @ApiPropertyOptional({
    minimum: 0,
    exclusiveMinimum: true,
    maximum: 1,
    example: 0.5,
    description:
      'A campaign whose recent failure rate goes above this fraction is paused: failures and retries (5xx, timeouts, 429) over every provider answer',
  })
  @OptionalNotNull()
  @IsNumber()
  threshold?: number;
  @ApiPropertyOptional({
    minimum: 0,
    exclusiveMinimum: true,
    maximum: 1,
    example: 0.5,
    description:
      'A campaign whose recent invalid-token rate goes above this fraction is paused (a wrong APNs environment, rotated credentials)',
  })
  @OptionalNotNull()
  @IsNumber()
  invalid_threshold?: number;
  @ApiPropertyOptional({
    minimum: 1,
    example: 200,
    description: 'Provider answers a campaign must have in the recent window before either rate is judged',
  })
  @OptionalNotNull()
  @IsNumber()
  min_sample?: number;
}

export class OpenModelDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: 1,
    example: 0.1,
    description: 'Fraction of recipients who tap the push and come through the gateway',
  })
  @OptionalNotNull()
  @IsNumber()
  open_rate?: number;
  @ApiPropertyOptional({ minimum: 0.1, maximum: 86400, example: 30, description: 'Median delay from send to tap, seconds (log-normal)' })
  @OptionalNotNull()
  @IsNumber()
  median_delay_seconds?: number;
  @ApiPropertyOptional({
    minimum: 0.05,
    maximum: 5,
    example: 1,
    description: 'Spread of ln(delay): 1 puts 95% of taps within about 7x the median',
  })
  @OptionalNotNull()
  @IsNumber()
  sigma?: number;
}

/** A partial change: fields left out keep their value. */
export class UpdateDispatchSettingsDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, description: 'Default recipients per send job for new campaigns' })
  @OptionalNotNull()
  @IsNumber()
  batch_size?: number;
  @ApiPropertyOptional({ minimum: 1, description: 'Default recipients per wave for new campaigns; at least batch_size (after the change)' })
  @OptionalNotNull()
  @IsNumber()
  wave_size?: number;
  @ApiPropertyOptional({
    minimum: 0,
    maximum: 86_400,
    description: "Default seconds from one wave's start to the next's, for new campaigns",
  })
  @OptionalNotNull()
  @IsNumber()
  interval_seconds?: number;
  @ApiPropertyOptional({ type: SettingsRateLimitsDto })
  @OptionalNotNull()
  @Nested(() => SettingsRateLimitsDto)
  rate_limits?: SettingsRateLimitsDto;
  @ApiPropertyOptional({ type: ErrorRateDto, description: 'The guard that pauses a failing campaign' })
  @OptionalNotNull()
  @Nested(() => ErrorRateDto)
  error_rate?: ErrorRateDto;
  @ApiPropertyOptional({ minimum: 1, maximum: 20, description: 'Attempts per recipient for retryable outcomes (429, 5xx, timeouts)' })
  @OptionalNotNull()
  @IsNumber()
  max_attempts?: number;
  @ApiPropertyOptional({
    type: 'number',
    nullable: true,
    example: 1,
    description: "A wave waits while its room's pressure (estimated wait / max wait) is at or above this; null: never waits",
  })
  @Nullable()
  @IsNumber()
  room_pressure_limit?: number | null;
  @ApiPropertyOptional({ type: () => OpenModelDto, description: 'The open model pacing and forecasts assume until opens are measured' })
  @OptionalNotNull()
  @Nested(() => OpenModelDto)
  open_model?: OpenModelDto;
  @ApiPropertyOptional(REASON) @OptionalNotNull() @IsString() @MaxLength(MAX_REASON_LENGTH) reason?: string;
}

/** The setting fields of the body (everything but `reason`). */
export const SETTING_FIELDS = [
  'batch_size',
  'wave_size',
  'interval_seconds',
  'rate_limits',
  'error_rate',
  'max_attempts',
  'room_pressure_limit',
  'open_model',
] as const satisfies ReadonlyArray<keyof UpdateDispatchSettingsDto>;

export class ProviderRatesView {
  @ApiProperty({ type: 'number', nullable: true }) fcm!: number | null;
  @ApiProperty({ type: 'number', nullable: true }) apns!: number | null;
  @ApiProperty({ type: 'number', nullable: true }) webpush!: number | null;
}

export class SettingsRateLimitsView {
  @ApiProperty({ type: 'number', nullable: true, description: RATE }) global!: number | null;
  @ApiProperty({ type: ProviderRatesView }) per_provider!: ProviderRatesView;
}

export class ErrorRateView {
  @ApiProperty() threshold!: number;
  @ApiProperty() invalid_threshold!: number;
  @ApiProperty() min_sample!: number;
}

export class OpenModelView {
  @ApiProperty() open_rate!: number;
  @ApiProperty() median_delay_seconds!: number;
  @ApiProperty() sigma!: number;
}

/** The settings in force, in API spelling. */
export class DispatchSettingsValuesView {
  @ApiProperty() batch_size!: number;
  @ApiProperty() wave_size!: number;
  @ApiProperty() interval_seconds!: number;
  @ApiProperty({ type: SettingsRateLimitsView }) rate_limits!: SettingsRateLimitsView;
  @ApiProperty({ type: ErrorRateView }) error_rate!: ErrorRateView;
  @ApiProperty() max_attempts!: number;
  @ApiProperty({ type: 'number', nullable: true }) room_pressure_limit!: number | null;
  @ApiProperty({ type: OpenModelView }) open_model!: OpenModelView;
}

export class DispatchSettingsView extends DispatchSettingsValuesView {
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'null while only the defaults apply' })
  updated_at!: Date | null;
  @ApiProperty({ type: 'string', nullable: true, description: 'The name of the API key that made the last change' })
  updated_by!: string | null;
}

// ---- Change log ---------------------------------------------------------------------------------------------------

export class ListChangesQuery {
  @ApiPropertyOptional({ example: 'dispatch', description: '`dispatch` (system settings) or `campaign:<id>`; absent: every scope' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  scope?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() limit?: number;
  @ApiPropertyOptional({ description: 'next_cursor of the previous page' }) @IsOptional() @IsString() cursor?: string;
}

export class SettingChangeView {
  @ApiProperty({ description: 'Increases with every change' }) id!: string;
  @ApiProperty({ example: 'dispatch', description: '`dispatch` or `campaign:<id>`' }) scope!: string;
  @ApiProperty({ description: 'The name of the API key that made it' }) actor!: string;
  @ApiProperty({ type: 'string', nullable: true }) actor_key_id!: string | null;
  @ApiProperty() at!: Date;
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true, description: 'The whole value before (API spelling)' })
  old!: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The whole value after (API spelling)' })
  new!: Record<string, unknown>;
  @ApiProperty({ type: 'string', nullable: true }) reason!: string | null;
}

export class SettingChangePageView {
  @ApiProperty({ type: [SettingChangeView], description: 'Newest first' }) items!: SettingChangeView[];
  @ApiProperty({ type: 'string', nullable: true, description: 'Pass as cursor for the next page; null on the last page' })
  next_cursor!: string | null;
}

// ---- A campaign's rate and wave size ------------------------------------------------------------------------------

export class CampaignDispatchDto {
  @ApiPropertyOptional({ type: 'number', nullable: true, example: 60_000, description: `This campaign's rate: ${RATE}` })
  @Nullable()
  @IsNumber()
  rate_per_minute?: number | null;
  @ApiPropertyOptional({
    minimum: 1,
    example: 20_000,
    description: "Recipients per wave from the next wave on; at least the campaign's batch_size",
  })
  @OptionalNotNull()
  @IsNumber()
  wave_size?: number;
  @ApiPropertyOptional(REASON) @OptionalNotNull() @IsString() @MaxLength(MAX_REASON_LENGTH) reason?: string;
}

// ---- Opens ----------------------------------------------------------------------------------------------------------

export const DEVICE_ID_PATTERN = /^[1-9][0-9]{0,18}$/;
export const MAX_USER_ID_LENGTH = 200;

export class CampaignOpenDto {
  @ApiPropertyOptional({
    maxLength: MAX_USER_ID_LENGTH,
    example: 'u-81234',
    description: 'Your user id: each user counts once per campaign',
  })
  @OptionalNotNull()
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_USER_ID_LENGTH)
  user_id?: string;
  @ApiPropertyOptional({ example: '42', description: 'A registered device id (digits); counts once per campaign when there is no user' })
  @OptionalNotNull()
  @IsString()
  @Matches(DEVICE_ID_PATTERN, { message: 'device_id must be a device id (digits, as returned by POST /admin/devices)' })
  device_id?: string;
}

export class CampaignOpenView {
  @ApiProperty({ description: 'false: this opener was counted already for this campaign' }) counted!: boolean;
}
