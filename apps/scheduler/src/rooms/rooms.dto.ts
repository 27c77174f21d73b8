import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength, registerDecorator, ValidateIf } from 'class-validator';
import { QUEUEING_METHODS, ROOM_DEFAULTS, ROOM_ID_PATTERN, type QueueingMethod } from '@tidegate/contracts';

/** Room ids go into Redis keys and URLs: lowercase slugs (ROOM_ID_PATTERN, libs/contracts). */
export { ROOM_ID_PATTERN };
export const ROOM_ID_RULE = 'must be a slug of 1 to 63 lowercase letters, digits and -, starting with a letter or digit (e.g. spring-sale)';

export const DEFAULT_PATHS: readonly string[] = ['/*'];
export const MAX_PATHS = 50;
export const MAX_PATH_LENGTH = 200;
export const MAX_NAME_LENGTH = 100;
export const MAX_MESSAGE_LENGTH = 500;
export const MAX_ORIGIN_URL_LENGTH = 2048;

/** Integer settings and their allowed ranges (inclusive). */
export const LIMITS = {
  total_active_users: { min: 1, max: 10_000_000 },
  new_users_per_minute: { min: 1, max: 10_000_000 },
  session_duration_seconds: { min: 10, max: 86_400 },
  max_wait_seconds: { min: 0, max: 86_400 },
  origin_max_p95_ms: { min: 1, max: 600_000 },
  origin_min_requests: { min: 1, max: 1_000_000 },
} as const;

/** Settings that are fractions (0..1, inclusive). */
export const FRACTIONS = ['origin_max_error_rate', 'unhealthy_admission_factor'] as const;

/** URL path characters (RFC 3986 pchar and /) except `*`, which may only end a pattern; `%` only as an escape. */
const PATH_BODY = /^\/(?:[A-Za-z0-9\-._~!$&'()+,;=:@/]|%[0-9A-Fa-f]{2})*$/;

const quote = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** Why `value` is not a path pattern (`/checkout`, `/shop/*`), or null when it is one. */
export function pathPatternProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (!value.startsWith('/')) return 'must start with /';
  if (value.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters`;
  const star = value.indexOf('*');
  if (star !== -1 && star !== value.length - 1) return 'may contain * only as its last character (e.g. /shop/*)';
  if (/[?#]/.test(value)) return 'must not contain a query (?) or a fragment (#)';
  if (!PATH_BODY.test(star === -1 ? value : value.slice(0, -1))) {
    return "may contain only URL path characters: letters, digits, / - . _ ~ ! $ & ' ( ) + , ; = : @ and %XX escapes";
  }
  return null;
}

/** Why `value` is not a list of path patterns, or null. */
export function pathListProblem(value: unknown): string | null {
  if (!Array.isArray(value)) return 'must be an array of path patterns such as ["/shop/*", "/checkout"]';
  if (value.length < 1) return 'must contain at least 1 path pattern';
  if (value.length > MAX_PATHS) return `must contain at most ${MAX_PATHS} path patterns`;
  const problems: string[] = [];
  value.forEach((item: unknown, i) => {
    const problem = pathPatternProblem(item);
    if (problem) problems.push(`[${i}]${typeof item === 'string' ? ` ${quote(item)}` : ''} ${problem}`);
  });
  if (problems.length > 0) return problems.slice(0, 5).join('; ');
  const seen = new Set<string>();
  for (const item of value as string[]) {
    if (seen.has(item)) return `must not repeat a pattern (${quote(item)})`;
    seen.add(item);
  }
  return null;
}

/** Why `value` is not an origin URL (absolute http(s), no query, fragment or credentials), or null. */
export function originUrlProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length > MAX_ORIGIN_URL_LENGTH) return `must be at most ${MAX_ORIGIN_URL_LENGTH} characters`;
  if (/\s/.test(value)) return 'must not contain whitespace';
  if (!URL.canParse(value)) return 'must be an absolute URL such as https://shop.example.com';
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http:// or https://';
  if (url.hostname === '') return 'must name a host';
  if (value.includes('?') || value.includes('#')) return 'must not have a query (?) or a fragment (#)';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  return null;
}

export function roomNameProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.trim() === '') return 'must not be empty';
  if (value.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain control characters';
  return null;
}

const fractionProblem = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1 ? null : 'must be a number from 0 to 1';

const integerProblem = (min: number, max: number) => (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? null : `must be an integer from ${min} to ${max}`;

/** A validator from a function that says what is wrong; the 400 names the property, then the problem. */
function Check(name: string, problem: (value: unknown) => string | null): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => problem(value) === null,
        defaultMessage: (args) => `${args?.property ?? String(propertyName)} ${problem(args?.value) ?? 'is invalid'}`,
      },
    });
}

/** Optional, but when present it must be valid: `null` is refused too (unlike @IsOptional). */
const OptionalNotNull = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

/** On create, fields left out take a default (documented); on update they keep their value. */
type Mode = 'create' | 'update';

const DESCRIPTIONS = {
  total_active_users: 'Concurrent sessions the origin can hold',
  new_users_per_minute: 'Admission rate: new sessions per minute, at most',
  session_duration_seconds: 'Idle timeout of a session, renewed by every request through the gate',
  max_wait_seconds: 'The wait the room is meant to keep under; the scheduler paces waves by it',
  origin_max_p95_ms:
    "Origin health: the origin is unhealthy while the p95 latency of the gateways' requests to it over the last 30 s is above this (ms)",
  origin_max_error_rate:
    'Origin health: unhealthy while the share of requests to the origin that fail (5xx answers, refused/reset/timed-out connections) over the last 30 s is above this (0..1)',
  origin_min_requests: 'Origin health: judged only when the last 30 s hold at least this many requests to the origin',
  unhealthy_admission_factor:
    'While the origin is unhealthy the admission rate (new_users_per_minute) is multiplied by this (0..1; 0 admits nobody new). ' +
    'Healthy again once within every threshold for 10 s',
  queue_all: 'Emergency brake: queue everyone, admit nobody (admitted sessions continue)',
  suspended:
    'The room is closed for now: nobody new is admitted (admitted sessions continue); newcomers take a place in line ' +
    'and everyone waiting is told the room is suspended',
  queueing_method:
    'fifo: when the origin is full, arrivals wait in arrival order; passthrough: everyone is admitted (sessions are still ' +
    'counted), and those already waiting go in at once; reject: when the origin is full, arrivals are refused (503)',
};

/** The defaults of a create, in API names (from ROOM_DEFAULTS). */
export const CREATE_DEFAULTS = {
  paths: DEFAULT_PATHS,
  total_active_users: ROOM_DEFAULTS.totalActiveUsers,
  new_users_per_minute: ROOM_DEFAULTS.newUsersPerMinute,
  session_duration_seconds: ROOM_DEFAULTS.sessionDurationSeconds,
  queueing_method: ROOM_DEFAULTS.queueingMethod,
  queue_all: ROOM_DEFAULTS.queueAll,
  suspended: ROOM_DEFAULTS.suspended,
  max_wait_seconds: ROOM_DEFAULTS.maxWaitSeconds,
  origin_max_p95_ms: ROOM_DEFAULTS.originMaxP95Ms,
  origin_max_error_rate: ROOM_DEFAULTS.originMaxErrorRate,
  origin_min_requests: ROOM_DEFAULTS.originMinRequests,
  unhealthy_admission_factor: ROOM_DEFAULTS.unhealthyAdmissionFactor,
};

const defaultOf = (mode: Mode, field: keyof typeof CREATE_DEFAULTS) => (mode === 'create' ? { default: CREATE_DEFAULTS[field] } : {});

const Field = {
  name: () =>
    applyDecorators(
      ApiPropertyOptional({
        example: 'Spring sale',
        maxLength: MAX_NAME_LENGTH,
        description: 'A name for people; on create, defaults to the id',
      }),
      OptionalNotNull(),
      Check('isRoomName', roomNameProblem),
    ),
  originUrl: (mode: Mode) =>
    applyDecorators(
      (mode === 'create' ? ApiProperty : ApiPropertyOptional)({
        example: 'https://shop.example.com',
        format: 'uri',
        maxLength: MAX_ORIGIN_URL_LENGTH,
        description: 'The origin the room protects: an absolute http(s) URL without query or fragment',
      }),
      ...(mode === 'update' ? [OptionalNotNull()] : []),
      Check('isOriginUrl', originUrlProblem),
    ),
  paths: (mode: Mode) =>
    applyDecorators(
      ApiPropertyOptional({
        type: 'array',
        items: { type: 'string', maxLength: MAX_PATH_LENGTH, pattern: '^/[^*?#]*\\*?$' },
        minItems: 1,
        maxItems: MAX_PATHS,
        ...defaultOf(mode, 'paths'),
        example: ['/shop/*', '/checkout'],
        description: 'Path patterns the room protects: each starts with /, and may end with a * wildcard (only there)',
      }),
      OptionalNotNull(),
      Check('isPathList', pathListProblem),
    ),
  integer: (mode: Mode, field: keyof typeof LIMITS) =>
    applyDecorators(
      ApiPropertyOptional({
        type: 'integer',
        minimum: LIMITS[field].min,
        maximum: LIMITS[field].max,
        ...defaultOf(mode, field),
        description: DESCRIPTIONS[field],
      }),
      OptionalNotNull(),
      Check('isIntegerInRange', integerProblem(LIMITS[field].min, LIMITS[field].max)),
    ),
  queueingMethod: (mode: Mode) =>
    applyDecorators(
      ApiPropertyOptional({ enum: QUEUEING_METHODS, ...defaultOf(mode, 'queueing_method'), description: DESCRIPTIONS.queueing_method }),
      OptionalNotNull(),
      IsIn(QUEUEING_METHODS, { message: `queueing_method must be one of ${QUEUEING_METHODS.join(', ')}` }),
    ),
  fraction: (mode: Mode, field: (typeof FRACTIONS)[number]) =>
    applyDecorators(
      ApiPropertyOptional({ type: 'number', minimum: 0, maximum: 1, ...defaultOf(mode, field), description: DESCRIPTIONS[field] }),
      OptionalNotNull(),
      Check('isFraction', fractionProblem),
    ),
  boolean: (mode: Mode, field: 'queue_all' | 'suspended') =>
    applyDecorators(
      ApiPropertyOptional({ type: 'boolean', ...defaultOf(mode, field), description: DESCRIPTIONS[field] }),
      OptionalNotNull(),
      IsBoolean(),
    ),
  message: () =>
    applyDecorators(
      ApiPropertyOptional({
        type: 'string',
        nullable: true,
        maxLength: MAX_MESSAGE_LENGTH,
        description: 'Shown to people in the waiting room; null removes it',
      }),
      IsOptional(),
      IsString(),
      MaxLength(MAX_MESSAGE_LENGTH),
    ),
};

export class CreateRoomDto {
  @ApiProperty({ example: 'spring-sale', pattern: ROOM_ID_PATTERN.source, description: 'A slug; used in Redis keys and URLs' })
  @Check('isRoomId', (v) => (typeof v === 'string' && ROOM_ID_PATTERN.test(v) ? null : ROOM_ID_RULE))
  id!: string;

  @Field.name() name?: string;
  @Field.originUrl('create') origin_url!: string;
  @Field.paths('create') paths?: string[];
  @Field.integer('create', 'total_active_users') total_active_users?: number;
  @Field.integer('create', 'new_users_per_minute') new_users_per_minute?: number;
  @Field.integer('create', 'session_duration_seconds') session_duration_seconds?: number;
  @Field.queueingMethod('create') queueing_method?: QueueingMethod;
  @Field.boolean('create', 'queue_all') queue_all?: boolean;
  @Field.boolean('create', 'suspended') suspended?: boolean;
  @Field.integer('create', 'max_wait_seconds') max_wait_seconds?: number;
  @Field.integer('create', 'origin_max_p95_ms') origin_max_p95_ms?: number;
  @Field.fraction('create', 'origin_max_error_rate') origin_max_error_rate?: number;
  @Field.integer('create', 'origin_min_requests') origin_min_requests?: number;
  @Field.fraction('create', 'unhealthy_admission_factor') unhealthy_admission_factor?: number;
  @Field.message() message?: string | null;
}

/** Every field but the id, all optional; at least one must be set (checked by the service). */
export class UpdateRoomDto {
  @Field.name() name?: string;
  @Field.originUrl('update') origin_url?: string;
  @Field.paths('update') paths?: string[];
  @Field.integer('update', 'total_active_users') total_active_users?: number;
  @Field.integer('update', 'new_users_per_minute') new_users_per_minute?: number;
  @Field.integer('update', 'session_duration_seconds') session_duration_seconds?: number;
  @Field.queueingMethod('update') queueing_method?: QueueingMethod;
  @Field.boolean('update', 'queue_all') queue_all?: boolean;
  @Field.boolean('update', 'suspended') suspended?: boolean;
  @Field.integer('update', 'max_wait_seconds') max_wait_seconds?: number;
  @Field.integer('update', 'origin_max_p95_ms') origin_max_p95_ms?: number;
  @Field.fraction('update', 'origin_max_error_rate') origin_max_error_rate?: number;
  @Field.integer('update', 'origin_min_requests') origin_min_requests?: number;
  @Field.fraction('update', 'unhealthy_admission_factor') unhealthy_admission_factor?: number;
  @Field.message() message?: string | null;
}

export const UPDATABLE_FIELDS = [
  'name',
  'origin_url',
  'paths',
  'total_active_users',
  'new_users_per_minute',
  'session_duration_seconds',
  'queueing_method',
  'queue_all',
  'suspended',
  'max_wait_seconds',
  'origin_max_p95_ms',
  'origin_max_error_rate',
  'origin_min_requests',
  'unhealthy_admission_factor',
  'message',
] as const satisfies ReadonlyArray<keyof UpdateRoomDto>;

export class RoomView {
  @ApiProperty({ example: 'spring-sale' }) id!: string;
  @ApiProperty({ example: 'Spring sale' }) name!: string;
  @ApiProperty({ example: 'https://shop.example.com' }) origin_url!: string;
  @ApiProperty({ type: [String], example: ['/shop/*', '/checkout'] }) paths!: string[];
  @ApiProperty({ type: 'integer', description: DESCRIPTIONS.total_active_users }) total_active_users!: number;
  @ApiProperty({ type: 'integer', description: DESCRIPTIONS.new_users_per_minute }) new_users_per_minute!: number;
  @ApiProperty({ type: 'integer', description: DESCRIPTIONS.session_duration_seconds }) session_duration_seconds!: number;
  @ApiProperty({ enum: QUEUEING_METHODS }) queueing_method!: QueueingMethod;
  @ApiProperty({ description: DESCRIPTIONS.queue_all }) queue_all!: boolean;
  @ApiProperty({ description: DESCRIPTIONS.suspended }) suspended!: boolean;
  @ApiProperty({ type: 'integer', description: DESCRIPTIONS.max_wait_seconds }) max_wait_seconds!: number;
  @ApiProperty({ type: 'integer', description: DESCRIPTIONS.origin_max_p95_ms }) origin_max_p95_ms!: number;
  @ApiProperty({ type: 'number', description: DESCRIPTIONS.origin_max_error_rate }) origin_max_error_rate!: number;
  @ApiProperty({ type: 'integer', description: DESCRIPTIONS.origin_min_requests }) origin_min_requests!: number;
  @ApiProperty({ type: 'number', description: DESCRIPTIONS.unhealthy_admission_factor }) unhealthy_admission_factor!: number;
  @ApiProperty({ type: 'string', nullable: true }) message!: string | null;
  @ApiProperty() created_at!: Date;
  @ApiProperty() updated_at!: Date;
}

export const LIVE_DESCRIPTION =
  'true: the hot copy in Redis was written, so every gateway applies the change within a second. false: PostgreSQL has ' +
  'the change but Redis could not be written; gateways also resync from PostgreSQL periodically, or send the request again.';

export class RoomChangeView extends RoomView {
  @ApiProperty({ description: LIVE_DESCRIPTION }) live!: boolean;
}
