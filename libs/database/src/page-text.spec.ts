import fc from 'fast-check';
import type { PushPlatform } from '@tidegate/domain';
import { pageHead, pageId, pagePlatforms, pageTextColumns, readPageText } from './page-text';

const LETTER: Record<PushPlatform, string> = { fcm: 'f', apns: 'a', webpush: 'w' };

/** What PostgreSQL's aggregates make of a page (page-text.ts). */
function likePostgres(rows: Array<{ id: number; platform: PushPlatform }>): [number, string | null, string | null] {
  if (rows.length === 0) return [0, null, null];
  return [rows.length, rows.map((r) => r.id).join(','), rows.map((r) => LETTER[r.platform]).join('')];
}

describe('a page read as text', () => {
  it('reads back every id, its text and its platform, for any ascending ids', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.constantFrom<PushPlatform>('fcm', 'apns', 'webpush')), {
          maxLength: 300,
        }),
        (pairs) => {
          const byId = new Map(pairs.map(([id, platform]) => [id, platform]));
          const rows = [...byId].sort((a, b) => a[0] - b[0]).map(([id, platform]) => ({ id, platform }));
          const page = readPageText(...likePostgres(rows));
          expect(page).not.toBeNull();
          if (!page) return;
          expect(page.count).toBe(rows.length);
          expect(Array.from(page.ids)).toEqual(rows.map((r) => r.id));
          expect(rows.map((_, i) => pageId(page, i))).toEqual(rows.map((r) => String(r.id)));
          expect(pagePlatforms(page, [0, rows.length])).toEqual({
            fcm: rows.filter((r) => r.platform === 'fcm').length,
            apns: rows.filter((r) => r.platform === 'apns').length,
            webpush: rows.filter((r) => r.platform === 'webpush').length,
          });
          // The first n: a page of their own.
          const n = Math.floor(rows.length / 2);
          const head = pageHead(page, n);
          expect(head.count).toBe(n);
          expect(head.text).toBe(
            rows
              .slice(0, n)
              .map((r) => r.id)
              .join(','),
          );
          expect(Array.from(head.ids)).toEqual(rows.slice(0, n).map((r) => r.id));
          expect(head.letters.length).toBe(n);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts the platforms of some runs of a page only', () => {
    const page = readPageText(6, '3,4,5,9,10,11', 'fawffw');
    expect(pagePlatforms(page!, [1, 3, 4, 6])).toEqual({ fcm: 1, apns: 1, webpush: 2 });
    expect(pagePlatforms(page!, [])).toEqual({ fcm: 0, apns: 0, webpush: 0 });
  });

  it('is null for anything but count ascending decimal ids and as many known letters: the page is then read as rows', () => {
    expect(readPageText(0, null, null)).toMatchObject({ count: 0, text: '' });
    for (const [count, ids, letters] of [
      [3, '1,2,3', 'ff'], // a letter missing
      [3, '1,2,3', 'ffx'], // a platform with no letter ('?')
      [2, '1,2,3', 'ff'], // more ids than rows
      [4, '1,2,3', 'ffff'], // fewer
      [3, '1,3,2', 'fff'], // out of order (a plan that did not keep the index's)
      [3, '1,2,2', 'fff'], // twice the same
      [3, '1,02,3', 'fff'], // a leading zero: not the id's spelling
      [3, '1,,3', 'fff'], // an empty id
      [3, '1,2,', 'fff'],
      [2, '1,-2', 'ff'],
      [2, '1, 2', 'ff'],
      [2, '1,9007199254740993', 'ff'], // past 2^53: partitions and offsets need exact doubles
      [1, null, 'f'],
      [1, '1', null],
      [0, '', ''],
    ] as Array<[number, string | null, string | null]>) {
      expect([count, ids, letters, readPageText(count, ids, letters)]).toEqual([count, ids, letters, null]);
    }
  });

  it('asks PostgreSQL for the count, the ids and a letter per platform, unknown platforms as ?', () => {
    expect(pageTextColumns()).toBe(
      "count(*)::int, string_agg(id::text, ','), string_agg(CASE platform WHEN 'fcm' THEN 'f' WHEN 'apns' THEN 'a' WHEN 'webpush' THEN 'w' ELSE '?' END, '')",
    );
  });
});
