/**
 * A wave's page of a segment read as text (DispatchRepository.segmentPageText): PostgreSQL joins the page's device ids
 * by commas, and its platforms as one letter each, in the page's order (id order), so the planner cuts the ids' text
 * into batches (libs/redis partitionIdText) with no row message, field array, string or object per device. Read as
 * rows, a wave of 100,000 cost the scheduler's event loop about 70 ms of CPU and its garbage collector a fifth of
 * what the worker allocated (issue #12's tenth pass, docs/benchmarks.md), and PostgreSQL a little more than this.
 *
 * The value: `count(*)`, `string_agg(id::text, ',')` and `string_agg(<letter>, '')` of the page, without an ORDER BY
 * in the aggregates (which would sort the page again): they take the rows in the subquery's order, the index's.
 * Exact by checking, whatever PostgreSQL's plan: `readPageText` returns null unless the ids are `count` decimal
 * integers in strictly ascending order, each a safe integer, and the letters `count` known ones; the page is then read
 * as rows.
 */
import type { PushPlatform } from '@tidegate/domain';

/** Each platform's letter in the page's text. */
const LETTERS: Readonly<Record<PushPlatform, string>> = { fcm: 'f', apns: 'a', webpush: 'w' };
const COMMA = 44;
const ZERO = 48;
const F = 102;
const A = 97;
const W = 119;

/** The select list of the text read (the page as a subquery `page`, with columns `id` and `platform`). */
export function pageTextColumns(): string {
  const letter = `CASE platform ${Object.entries(LETTERS)
    .map(([platform, l]) => `WHEN '${platform}' THEN '${l}'`)
    .join(' ')} ELSE '?' END`;
  return `count(*)::int, string_agg(id::text, ','), string_agg(${letter}, '')`;
}

/**
 * A page read as text: `count` device ids in ascending order, joined by commas in `text`; id i is the text from
 * `starts[i]` to `starts[i + 1] - 1` (`starts[count]` is one past the text's end), its value `ids[i]`, its platform
 * the i-th letter of `letters`.
 */
export interface PageText {
  count: number;
  text: string;
  starts: Uint32Array;
  ids: Float64Array;
  letters: string;
}

/**
 * The page of a text read (`count` rows; `text` the ids joined, `letters` the platforms; both null for no row), or
 * null when it is not exactly that (see above).
 */
export function readPageText(count: number, text: string | null, letters: string | null): PageText | null {
  if (text === null || letters === null) return count === 0 && text === null && letters === null ? emptyPage() : null;
  if (!Number.isInteger(count) || count < 1 || letters.length !== count) return null;
  for (let i = 0; i < count; i++) {
    const c = letters.charCodeAt(i);
    if (c !== F && c !== A && c !== W) return null;
  }
  const starts = new Uint32Array(count + 1);
  const ids = new Float64Array(count);
  let n = 0;
  let value = 0;
  let digits = 0;
  let previous = 0;
  for (let at = 0; at <= text.length; at++) {
    const c = at < text.length ? text.charCodeAt(at) : COMMA;
    if (c === COMMA) {
      // An id ends: it must be a positive decimal without leading zeros, above the one before it, and fit a double.
      if (digits === 0 || n === count || value <= previous || !Number.isSafeInteger(value)) return null;
      if (text.charCodeAt(at - digits) === ZERO) return null;
      ids[n] = value;
      starts[n + 1] = at + 1;
      n++;
      previous = value;
      value = 0;
      digits = 0;
    } else if (c >= ZERO && c <= ZERO + 9) {
      value = value * 10 + (c - ZERO);
      digits++;
    } else return null;
  }
  return n === count ? { count, text, starts, ids, letters } : null;
}

function emptyPage(): PageText {
  return { count: 0, text: '', starts: new Uint32Array(1), ids: new Float64Array(0), letters: '' };
}

/** The first `n` ids of a page (n ≤ its count). */
export function pageHead(page: PageText, n: number): PageText {
  if (n >= page.count) return page;
  return {
    count: n,
    text: n === 0 ? '' : page.text.slice(0, (page.starts[n] as number) - 1),
    starts: page.starts.subarray(0, n + 1),
    ids: page.ids.subarray(0, n),
    letters: page.letters.slice(0, n),
  };
}

/** The i-th id of a page, as text (the jobs' spelling). */
export function pageId(page: PageText, i: number): string {
  return page.text.slice(page.starts[i], (page.starts[i + 1] as number) - 1);
}

/** How many of a page's ids in `entries` (pairs of indexes, from inclusive, to exclusive) are on each platform. */
export function pagePlatforms(page: PageText, entries: readonly number[]): Record<PushPlatform, number> {
  const counts: Record<PushPlatform, number> = { fcm: 0, apns: 0, webpush: 0 };
  const { letters } = page;
  for (let r = 0; r + 1 < entries.length; r += 2) {
    for (let i = entries[r] as number, to = entries[r + 1] as number; i < to; i++) {
      const c = letters.charCodeAt(i);
      if (c === F) counts.fcm++;
      else if (c === A) counts.apns++;
      else counts.webpush++;
    }
  }
  return counts;
}
