import { Prisma } from '@prisma/client';
import { segmentWhere, validateSegment, type Segment } from './segment';

const valid = (input: unknown): Segment => {
  const result = validateSegment(input, '');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.segment;
};

describe('validateSegment', () => {
  it('fills in activeOnly and normalises zones, locales and repeats', () => {
    expect(valid({})).toEqual({ activeOnly: true });
    expect(
      valid({
        platforms: ['apns', 'apns', 'fcm'],
        locales: ['en-us', 'EN-US'],
        timezones: ['europe/paris'],
        tagsAll: ['vip'],
        lastSeenAfter: '2026-03-01T01:00:00+01:00',
        activeOnly: false,
      }),
    ).toEqual({
      platforms: ['apns', 'fcm'],
      locales: ['en-US'],
      timezones: ['Europe/Paris'],
      tagsAll: ['vip'],
      lastSeenAfter: '2026-03-01T00:00:00.000Z',
      activeOnly: false,
    });
  });

  it('names every bad field with a code', () => {
    const result = validateSegment(
      {
        platforms: ['hms'],
        tagsAll: 'vip',
        tagsAny: [],
        locales: ['!!'],
        timezones: ['Mars/Base'],
        lastSeenAfter: '2026-03-01',
        lastSeenBefore: 'soon',
        activeOnly: 'yes',
        colour: 'red',
      },
      'audience',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.field, e.code])).toEqual([
      ['audience.colour', 'unknown_field'],
      ['audience.platforms[0]', 'unknown_platform'],
      ['audience.tagsAll', 'invalid_type'],
      ['audience.tagsAny', 'out_of_range'],
      ['audience.locales[0]', 'invalid_locale'],
      ['audience.timezones[0]', 'unknown_time_zone'],
      ['audience.lastSeenAfter', 'invalid_date'],
      ['audience.lastSeenBefore', 'invalid_date'],
      ['audience.activeOnly', 'invalid_type'],
    ]);
    expect(result.errors.every((e) => e.message.startsWith(e.field))).toBe(true);
  });

  it('refuses an empty last-seen range, bad tags and more than 50 values', () => {
    const result = validateSegment({
      lastSeenAfter: '2026-03-01T00:00:00Z',
      lastSeenBefore: '2026-03-01T00:00:00Z',
      tagsAny: ['ok', 'Not ok'],
      platforms: Array.from({ length: 51 }, () => 'fcm'),
    });
    expect(result.ok ? [] : result.errors.map((e) => [e.field, e.code])).toEqual([
      ['segment.platforms', 'out_of_range'],
      ['segment.tagsAny[1]', 'invalid_tag'],
      ['segment.lastSeenBefore', 'empty_range'],
    ]);
    expect(validateSegment(null).ok).toBe(false);
    expect(validateSegment([]).ok).toBe(false);
  });
});

describe('segmentWhere', () => {
  const sql = (s: Prisma.Sql) => ({ text: s.text, values: s.values });

  it('is TRUE for everyone and `active` for active devices', () => {
    expect(sql(segmentWhere({ activeOnly: false }))).toEqual({ text: 'TRUE', values: [] });
    expect(sql(segmentWhere({}))).toEqual({ text: '"active"', values: [] });
  });

  it('builds one parameterised clause per field, in a fixed order', () => {
    const where = segmentWhere(
      valid({
        platforms: ['apns', 'webpush'],
        tagsAll: ['vip', 'beta'],
        tagsAny: ['a'],
        locales: ['fr-FR'],
        timezones: ['Asia/Tokyo'],
        lastSeenAfter: '2026-01-01T00:00:00Z',
        lastSeenBefore: '2026-02-01T00:00:00Z',
      }),
    );
    expect(sql(where)).toEqual({
      text:
        '"active" AND "platform" = ANY(CAST($1 AS "Platform"[])) AND "tags" @> CAST($2 AS text[]) AND "tags" && CAST($3 AS text[]) ' +
        'AND "locale" = ANY(CAST($4 AS text[])) AND "timezone" = ANY(CAST($5 AS text[])) ' +
        'AND "last_seen_at" >= CAST($6 AS timestamp) AND "last_seen_at" < CAST($7 AS timestamp)',
      values: [
        ['apns', 'webpush'],
        ['vip', 'beta'],
        ['a'],
        ['fr-FR'],
        ['Asia/Tokyo'],
        '2026-01-01T00:00:00.000Z',
        '2026-02-01T00:00:00.000Z',
      ],
    });
  });

  it('qualifies columns with an alias and composes into keyset pagination', () => {
    const where = segmentWhere({ tagsAny: ["x'; DROP TABLE devices; --"] }, 'd');
    const page = Prisma.sql`SELECT d.id FROM devices d WHERE d.id > ${10n} AND ${where} ORDER BY d.id LIMIT ${500}`;
    expect(page.text).toBe(
      'SELECT d.id FROM devices d WHERE d.id > $1 AND d."active" AND d."tags" && CAST($2 AS text[]) ORDER BY d.id LIMIT $3',
    );
    expect(page.values).toEqual([10n, ["x'; DROP TABLE devices; --"], 500]);
  });
});
