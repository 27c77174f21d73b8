/**
 * Segments: an audience described as a filter over devices. Pure code, no I/O: `validateSegment` checks and
 * normalises what a client sent, `segmentWhere` turns a valid segment into a parameterised SQL condition shared by
 * the audience estimate (DeviceRepository.estimate) and the wave planner's keyset pagination:
 *
 *   SELECT … FROM devices WHERE id > ${cursor} AND ${segmentWhere(segment)} ORDER BY id LIMIT ${n}
 *
 * Every value travels as a bind parameter; the only SQL text is fixed here.
 */
import { Prisma } from '@prisma/client';
import { PUSH_PLATFORMS, canonicalTimeZone, type PushPlatform } from '@tidegate/domain';

/** Device tags: lowercase, digits and `_ : . -`, starting with a letter or digit, at most 64 characters. */
export const TAG_PATTERN = /^[a-z0-9][a-z0-9_:.-]{0,63}$/;
export const TAG_RULE = 'must be 1 to 64 characters of a-z 0-9 _ : . - starting with a letter or digit (e.g. vip, country:fr)';
/** At most this many items in each list of a segment (and tags on a device). */
export const MAX_SEGMENT_LIST = 50;
export const MAX_LOCALE_LENGTH = 35;

export interface Segment {
  /** Devices of any of these platforms. */
  platforms?: PushPlatform[];
  /** Devices carrying every one of these tags. */
  tagsAll?: string[];
  /** Devices carrying at least one of these tags. */
  tagsAny?: string[];
  /** Devices whose locale is exactly one of these BCP 47 tags (canonical case: `en-US`). */
  locales?: string[];
  /** Devices in one of these IANA time zones (canonical spelling). */
  timezones?: string[];
  /** Devices seen at or after this instant (ISO 8601 with Z or an offset). Devices never seen do not match. */
  lastSeenAfter?: string;
  /** Devices seen before this instant. Devices never seen do not match. */
  lastSeenBefore?: string;
  /** Only active devices (default true): deactivated devices (deleted, invalid token) are never sent to. */
  activeOnly?: boolean;
}

export type SegmentErrorCode =
  | 'invalid_type'
  | 'unknown_field'
  | 'unknown_platform'
  | 'invalid_tag'
  | 'invalid_locale'
  | 'unknown_time_zone'
  | 'invalid_date'
  | 'out_of_range'
  | 'empty_range';

/** One problem with one field: a dotted path (`segment.tagsAll[2]`), a stable code, a sentence. */
export interface SegmentFieldError {
  field: string;
  code: SegmentErrorCode;
  message: string;
}

export type SegmentValidation = { ok: true; segment: Segment } | { ok: false; errors: SegmentFieldError[] };

const SEGMENT_FIELDS = ['platforms', 'tagsAll', 'tagsAny', 'locales', 'timezones', 'lastSeenAfter', 'lastSeenBefore', 'activeOnly'];

/** ISO 8601 date-time with a zone designator (Z or ±hh:mm): an instant, never local time. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

const show = (v: unknown) => {
  const s = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(JSON.stringify(v));
  return s;
};

/**
 * Memoises a pure string function: imports check the same few zones and locales millions of times, and each Intl
 * call costs microseconds. The cache is dropped when full, so memory stays bounded whatever the input.
 */
function memo(fn: (value: string) => string | null, max = 10_000): (value: string) => string | null {
  const cache = new Map<string, string | null>();
  return (value) => {
    const hit = cache.get(value);
    if (hit !== undefined) return hit;
    if (cache.size >= max) cache.clear();
    const result = fn(value);
    cache.set(value, result);
    return result;
  };
}

/** The canonical form of a BCP 47 language tag (`en-us` → `en-US`), or null when it is not one. */
export const canonicalLocale = memo((value: string): string | null => {
  if (value.length === 0 || value.length > MAX_LOCALE_LENGTH) return null;
  try {
    const [canonical] = Intl.getCanonicalLocales(value);
    return canonical ?? null;
  } catch {
    return null;
  }
});

/** The runtime's spelling of an IANA zone (`europe/paris` → `Europe/Paris`), or null when unknown; memoised. */
export const canonicalZone = memo((value: string): string | null => (value.length > 64 ? null : canonicalTimeZone(value)));

/** The instant as a Date, or null when `value` is not an ISO 8601 date-time with Z or an offset. */
export function parseInstant(value: unknown): Date | null {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/**
 * Checks a segment as a client sent it (parsed JSON) and returns it normalised (canonical time zones and locales,
 * lists without repeats, `activeOnly` filled in), or every problem. `path` prefixes the field names in errors.
 */
export function validateSegment(input: unknown, path = 'segment'): SegmentValidation {
  const errors: SegmentFieldError[] = [];
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: path || 'segment', code: 'invalid_type', message: `${path || 'segment'} must be an object` }] };
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!SEGMENT_FIELDS.includes(key)) {
      errors.push({
        field: at(key),
        code: 'unknown_field',
        message: `${at(key)} is not a segment field (one of ${SEGMENT_FIELDS.join(', ')})`,
      });
    }
  }
  const segment: Segment = {};

  /** A list field: an array of 1 to 50 items, each normalised by `item` (null = bad item). */
  const list = (key: keyof Segment, code: SegmentErrorCode, rule: string, item: (v: string) => string | null): string[] | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    const field = at(key);
    if (!Array.isArray(value)) {
      errors.push({ field, code: 'invalid_type', message: `${field} must be an array (leave it out to match any)` });
      return undefined;
    }
    if (value.length === 0 || value.length > MAX_SEGMENT_LIST) {
      errors.push({
        field,
        code: 'out_of_range',
        message: `${field} must list 1 to ${MAX_SEGMENT_LIST} values (leave it out to match any)`,
      });
      return undefined;
    }
    const out: string[] = [];
    value.forEach((v: unknown, i) => {
      const normal = typeof v === 'string' ? item(v) : null;
      if (normal === null) errors.push({ field: `${field}[${i}]`, code, message: `${field}[${i}] ${show(v)} ${rule}` });
      else if (!out.includes(normal)) out.push(normal);
    });
    return out;
  };

  const platforms = list('platforms', 'unknown_platform', `must be one of ${PUSH_PLATFORMS.join(', ')}`, (v) =>
    (PUSH_PLATFORMS as readonly string[]).includes(v) ? v : null,
  );
  if (platforms) segment.platforms = platforms as PushPlatform[];
  const tagsAll = list('tagsAll', 'invalid_tag', TAG_RULE, (v) => (TAG_PATTERN.test(v) ? v : null));
  if (tagsAll) segment.tagsAll = tagsAll;
  const tagsAny = list('tagsAny', 'invalid_tag', TAG_RULE, (v) => (TAG_PATTERN.test(v) ? v : null));
  if (tagsAny) segment.tagsAny = tagsAny;
  const locales = list('locales', 'invalid_locale', 'must be a BCP 47 language tag such as en-US', canonicalLocale);
  if (locales) segment.locales = locales;
  const timezones = list('timezones', 'unknown_time_zone', 'must be an IANA time zone such as Europe/Paris', canonicalZone);
  if (timezones) segment.timezones = timezones;

  const instant = (key: 'lastSeenAfter' | 'lastSeenBefore'): Date | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    const date = parseInstant(value);
    if (!date) {
      errors.push({
        field: at(key),
        code: 'invalid_date',
        message: `${at(key)} must be an ISO 8601 date-time with Z or an offset (e.g. 2026-03-01T00:00:00Z)`,
      });
      return undefined;
    }
    segment[key] = date.toISOString();
    return date;
  };
  const after = instant('lastSeenAfter');
  const before = instant('lastSeenBefore');
  if (after && before && after.getTime() >= before.getTime()) {
    errors.push({ field: at('lastSeenBefore'), code: 'empty_range', message: `${at('lastSeenBefore')} must be later than lastSeenAfter` });
  }

  if (raw.activeOnly !== undefined && typeof raw.activeOnly !== 'boolean') {
    errors.push({ field: at('activeOnly'), code: 'invalid_type', message: `${at('activeOnly')} must be a boolean` });
  }
  segment.activeOnly = raw.activeOnly !== false;

  return errors.length > 0 ? { ok: false, errors } : { ok: true, segment };
}

/**
 * The SQL condition selecting a (validated) segment's devices from `devices`, with every value a bind parameter.
 * `alias` qualifies the columns (`d` → `d.platform`); an empty segment with `activeOnly: false` is `TRUE`.
 * Each clause is written so an index can serve it: `tags @>` / `&&` (GIN), `= ANY` and ranges (btree).
 */
export function segmentWhere(segment: Segment, alias?: string): Prisma.Sql {
  const col = (name: string) => Prisma.raw(alias ? `${alias}."${name}"` : `"${name}"`);
  const clauses: Prisma.Sql[] = [];
  if (segment.activeOnly !== false) clauses.push(Prisma.sql`${col('active')}`);
  if (segment.platforms) clauses.push(Prisma.sql`${col('platform')} = ANY(CAST(${segment.platforms} AS "Platform"[]))`);
  if (segment.tagsAll) clauses.push(Prisma.sql`${col('tags')} @> CAST(${segment.tagsAll} AS text[])`);
  if (segment.tagsAny) clauses.push(Prisma.sql`${col('tags')} && CAST(${segment.tagsAny} AS text[])`);
  if (segment.locales) clauses.push(Prisma.sql`${col('locale')} = ANY(CAST(${segment.locales} AS text[]))`);
  if (segment.timezones) clauses.push(Prisma.sql`${col('timezone')} = ANY(CAST(${segment.timezones} AS text[]))`);
  if (segment.lastSeenAfter) clauses.push(Prisma.sql`${col('last_seen_at')} >= CAST(${segment.lastSeenAfter} AS timestamp)`);
  if (segment.lastSeenBefore) clauses.push(Prisma.sql`${col('last_seen_at')} < CAST(${segment.lastSeenBefore} AS timestamp)`);
  return clauses.length === 0 ? Prisma.sql`TRUE` : Prisma.join(clauses, ' AND ');
}
