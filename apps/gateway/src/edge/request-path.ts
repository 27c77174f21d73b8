/**
 * Which request paths the gateway refuses before anything else looks at them; one decision for plain HTTP (the gate
 * hook) and WebSocket upgrades (the upgrade proxy), each answered with 400 and the reason. Pure logic.
 *
 * - A dot-segment (`.` or `..`) lets a path match one room's pattern while the origin resolves it to another path
 *   (`/shop/a/../admin`), so such paths are refused however they are spelled: percent-encoded (`%2e%2e`, `%2E.`), with
 *   an encoded or backslash separator (`..%2f`, `..\`, `..%5c`), or encoded twice (`%252e`).
 * - A segment that begins or ends with `..` (`/a/..b`), or a path whose percent-encoding does not decode (`%zz`,
 *   `%ff`), cannot be forwarded unchanged: the HTTP proxy (@fastify/reply-from) refuses both. They are refused here
 *   with a reason instead of failing later.
 *
 * The query string is not looked at: it is passed to the origin as it came.
 */

/** Decoding rounds for `%25` (an encoded `%`): enough for any double or triple encoding an origin might undo. */
const DECODE_ROUNDS = 3;

const ENCODED: Array<[RegExp, string]> = [
  [/%2e/gi, '.'],
  [/%2f/gi, '/'],
  [/%5c/gi, '\\'],
  [/%25/g, '%'],
];

export const DOT_SEGMENT_MESSAGE =
  'the path has a dot-segment ("." or "..", also percent-encoded as %2e or separated by %2f or a backslash); ' +
  'send the path as it resolves, without dot-segments';
export const DOTTED_SEGMENT_MESSAGE = 'a path segment may not begin or end with ".." (it cannot be told from a dot-segment)';
export const BAD_ENCODING_MESSAGE = 'the path has malformed percent-encoding: "%" must start a UTF-8 byte written as two hex digits';

/** The path of a request line's target: everything before the query. */
export const pathOf = (url: string): string => url.split('?', 1)[0] ?? '';

/** Why the path of `url` (a request line's target) is refused, or null when it is fine. */
export function requestPathProblem(url: string): string | null {
  const raw = pathOf(url);
  // Without a dot and a percent sign there is no dot-segment, dotted segment or encoding to check (most requests).
  if (!raw.includes('.') && !raw.includes('%')) return null;
  if (raw.includes('%')) {
    try {
      decodeURIComponent(raw);
    } catch {
      return BAD_ENCODING_MESSAGE;
    }
  }
  let path = raw;
  for (let round = 0; round < DECODE_ROUNDS && path.includes('%'); round++) {
    for (const [pattern, plain] of ENCODED) path = path.replace(pattern, plain);
  }
  const segments = path.split(/[/\\]/);
  if (segments.some((s) => s === '.' || s === '..')) return DOT_SEGMENT_MESSAGE;
  if (segments.some((s) => s.startsWith('..') || s.endsWith('..'))) return DOTTED_SEGMENT_MESSAGE;
  return null;
}
