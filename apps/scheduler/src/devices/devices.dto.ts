import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, registerDecorator, ValidateIf } from 'class-validator';
import { MAX_LOCALE_LENGTH, MAX_SEGMENT_LIST, TAG_PATTERN } from '@tidegate/database';
import { PUSH_PLATFORMS, type PushPlatform } from '@tidegate/domain';
import { MAX_APP_VERSION_LENGTH, MAX_TAGS, MAX_USER_ID_LENGTH, RULES, type DeviceField } from './device-rules';

/** A validator from the shared rule of `field` (device-rules.ts); the 400 names the field, then the problem. */
function Rule(field: DeviceField): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: `device_${field}`,
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown, args) => RULES[field](value, (args?.object ?? {}) as Record<string, unknown>) === null,
        defaultMessage: (args) => `${field} ${RULES[field](args?.value, (args?.object ?? {}) as Record<string, unknown>) ?? 'is invalid'}`,
      },
    });
}

/** Optional, but when present it must be valid: `null` is refused too. */
const OptionalNotNull = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

const DOC = {
  platform: 'fcm, apns or webpush',
  token:
    'FCM: the registration token (100-2048 characters of A-Za-z0-9_:-). APNs: the device token in hex (64-200 digits; ' +
    'stored lowercase). Web Push: the subscription endpoint, an https URL on a public push service (no IP address, ' +
    'localhost or private-network name).',
  p256dh: "Web Push only, required there: the subscription's keys.p256dh (base64url, a 65-byte uncompressed P-256 point)",
  auth: "Web Push only, required there: the subscription's keys.auth (base64url, 16 bytes)",
  user_id: 'Your user id, if the device belongs to a signed-in user (opens are deduplicated per user)',
  timezone: "IANA time zone of the device (quiet hours are in the recipient's local time); stored canonical",
  locale: 'BCP 47 language tag (e.g. en-US); stored canonical',
  tags: `Up to ${MAX_TAGS} tags, each ${TAG_PATTERN.source}, used by segments`,
  app_version: 'Version of your app on the device',
};

const Field = {
  platform: () => applyDecorators(ApiProperty({ enum: PUSH_PLATFORMS, description: DOC.platform }), Rule('platform')),
  token: () =>
    applyDecorators(
      ApiProperty({ example: 'https://fcm.googleapis.com/fcm/send/dX3…', maxLength: 2048, description: DOC.token }),
      Rule('token'),
    ),
  key: (field: 'p256dh' | 'auth') =>
    applyDecorators(ApiPropertyOptional({ type: 'string', nullable: true, description: DOC[field] }), Rule(field)),
  nullableText: (field: 'user_id' | 'app_version' | 'locale', maxLength: number, mode: 'register' | 'update') =>
    applyDecorators(
      ApiPropertyOptional({
        type: 'string',
        nullable: true,
        maxLength,
        description: `${DOC[field]}${mode === 'update' ? '; null clears it' : ''}`,
      }),
      Rule(field),
    ),
  timezone: (mode: 'register' | 'update') =>
    applyDecorators(
      ApiPropertyOptional({ example: 'Europe/Paris', ...(mode === 'register' ? { default: 'UTC' } : {}), description: DOC.timezone }),
      OptionalNotNull(),
      Rule('timezone'),
    ),
  tags: (mode: 'register' | 'update') =>
    applyDecorators(
      ApiPropertyOptional({
        type: 'array',
        items: { type: 'string', pattern: TAG_PATTERN.source },
        maxItems: MAX_TAGS,
        ...(mode === 'register' ? { default: [] } : {}),
        example: ['vip', 'country:fr'],
        description: `${DOC.tags}${mode === 'update' ? ' (replaces the list)' : ''}`,
      }),
      OptionalNotNull(),
      Rule('tags'),
    ),
};

/**
 * Registers a device, or updates the one with the same platform and token. The body is the device's whole state:
 * fields left out take their defaults (timezone UTC, no tags, the rest null), so sending it again changes nothing.
 */
export class RegisterDeviceDto {
  @Field.platform() platform!: PushPlatform;
  @Field.token() token!: string;
  @Field.key('p256dh') p256dh?: string | null;
  @Field.key('auth') auth?: string | null;
  @Field.nullableText('user_id', MAX_USER_ID_LENGTH, 'register') user_id?: string | null;
  @Field.timezone('register') timezone?: string;
  @Field.nullableText('locale', MAX_LOCALE_LENGTH, 'register') locale?: string | null;
  @Field.tags('register') tags?: string[];
  @Field.nullableText('app_version', MAX_APP_VERSION_LENGTH, 'register') app_version?: string | null;
}

/** A device's attributes, all optional (at least one must be set); the platform and token never change. */
export class UpdateDeviceDto {
  @ApiPropertyOptional({ type: 'string', description: `${DOC.p256dh}; send with auth when the subscription's keys change` })
  @Allow()
  p256dh?: string;
  @ApiPropertyOptional({ type: 'string', description: DOC.auth }) @Allow() auth?: string;
  @Field.nullableText('user_id', MAX_USER_ID_LENGTH, 'update') user_id?: string | null;
  @Field.timezone('update') timezone?: string;
  @Field.nullableText('locale', MAX_LOCALE_LENGTH, 'update') locale?: string | null;
  @Field.tags('update') tags?: string[];
  @Field.nullableText('app_version', MAX_APP_VERSION_LENGTH, 'update') app_version?: string | null;
}

export const UPDATABLE_FIELDS = ['p256dh', 'auth', 'user_id', 'timezone', 'locale', 'tags', 'app_version'] as const satisfies ReadonlyArray<
  keyof UpdateDeviceDto
>;

export class DeviceView {
  @ApiProperty({ example: '42', description: 'The device id: a 64-bit integer, as a decimal string' }) id!: string;
  @ApiProperty({ enum: PUSH_PLATFORMS }) platform!: PushPlatform;
  @ApiProperty({ description: 'The token, or the Web Push endpoint (its keys are never returned)' }) token!: string;
  @ApiProperty({ type: 'string', nullable: true }) user_id!: string | null;
  @ApiProperty({ example: 'Europe/Paris' }) timezone!: string;
  @ApiProperty({ type: 'string', nullable: true, example: 'en-US' }) locale!: string | null;
  @ApiProperty({ type: [String] }) tags!: string[];
  @ApiProperty({ type: 'string', nullable: true }) app_version!: string | null;
  @ApiProperty({ description: 'false once deleted, or when the provider said the token is gone' }) active!: boolean;
  @ApiProperty({ type: 'string', nullable: true, example: 'deleted', description: 'Why the device is inactive' })
  deactivated_reason!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'Set when the device registers' })
  last_seen_at!: Date | null;
  @ApiProperty() created_at!: Date;
  @ApiProperty() updated_at!: Date;
}

export class RegisteredDeviceView extends DeviceView {
  @ApiProperty({ description: 'true: a new device (201); false: an existing device was updated (200)' }) created!: boolean;
}

export class ImportErrorView {
  @ApiProperty({ description: 'Line of the upload (1 is the CSV header, or the first NDJSON line)' }) line!: number;
  @ApiProperty({ example: 'token', description: 'The field at fault; `row` for a line that could not be read at all' }) field!: string;
  @ApiProperty({ example: 'token must be an APNs device token: 64 to 200 hexadecimal digits' }) message!: string;
}

export class ImportResultView {
  @ApiProperty({ description: 'Rows read (after the CSV header; blank lines are skipped)' }) rows!: number;
  @ApiProperty({ description: 'Rows valid and written' }) accepted!: number;
  @ApiProperty({ description: 'Rows refused (see errors)' }) rejected!: number;
  @ApiProperty({ description: 'Accepted rows that created a device' }) inserted!: number;
  @ApiProperty({ description: 'Accepted rows that updated an existing device (same platform and token)' }) updated!: number;
  @ApiProperty({ type: [ImportErrorView], description: 'The first 1,000 problems, in line order (a row may have several)' })
  errors!: ImportErrorView[];
  @ApiProperty({ description: 'All rejected rows: equal to rejected; errors stops at 1,000 entries' }) rejectedTotal!: number;
  @ApiProperty({ description: 'Problems found in all, including those beyond the first 1,000 listed' }) errorsTotal!: number;
  @ApiProperty() durationMs!: number;
}

/** A segment: devices matching every field given (each list: any of its values). See docs/devices.md. */
export class SegmentDto {
  @ApiPropertyOptional({ type: 'array', items: { type: 'string', enum: [...PUSH_PLATFORMS] }, maxItems: MAX_SEGMENT_LIST })
  @Allow()
  platforms?: PushPlatform[];
  @ApiPropertyOptional({ type: [String], maxItems: MAX_SEGMENT_LIST, description: 'Devices with every one of these tags' })
  @Allow()
  tagsAll?: string[];
  @ApiPropertyOptional({ type: [String], maxItems: MAX_SEGMENT_LIST, description: 'Devices with at least one of these tags' })
  @Allow()
  tagsAny?: string[];
  @ApiPropertyOptional({ type: [String], example: ['en-US', 'en-GB'], description: 'Exact BCP 47 tags (canonical case)' })
  @Allow()
  locales?: string[];
  @ApiPropertyOptional({ type: [String], example: ['Europe/Paris'], description: 'IANA time zones' })
  @Allow()
  timezones?: string[];
  @ApiPropertyOptional({ type: 'string', format: 'date-time', description: 'Seen at or after (devices never seen do not match)' })
  @Allow()
  lastSeenAfter?: string;
  @ApiPropertyOptional({ type: 'string', format: 'date-time', description: 'Seen before (devices never seen do not match)' })
  @Allow()
  lastSeenBefore?: string;
  @ApiPropertyOptional({ type: 'boolean', default: true, description: 'Only active devices' })
  @Allow()
  activeOnly?: boolean;
}

export class SegmentEstimateView {
  @ApiProperty({ description: 'Devices in the segment: counted, or estimated by PostgreSQL from its statistics' }) estimate!: number;
  @ApiProperty({ description: 'true when counted exactly' }) exact!: boolean;
  @ApiProperty({
    enum: ['count', 'planner'],
    description: 'count: count(*) (the table holds at most 100,000 devices); planner: the query planner estimate',
  })
  method!: 'count' | 'planner';
}
