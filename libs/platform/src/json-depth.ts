/**
 * How deeply a JSON text nests objects and arrays, measured on the raw bytes before it is parsed, so a body like
 * `[[[[…]]]]` thousands deep is refused with a 400 before it reaches `JSON.parse`, validation or logging (where deep
 * recursion ends in a 500). Brackets inside strings do not count. The structural characters are ASCII, and no byte
 * of a multi-byte UTF-8 sequence is ASCII, so scanning bytes is exact.
 */
const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/** The deepest nesting a JSON body may have on any app (a real admin or gateway payload needs fewer than 10). */
export const MAX_JSON_DEPTH = 64;

/** Whether `json` nests objects and arrays more than `maxDepth` levels deep (stops scanning as soon as it does). */
export function jsonNestsDeeperThan(json: Buffer | string, maxDepth: number): boolean {
  const bytes = typeof json === 'string' ? Buffer.from(json) : json;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > maxDepth) return true;
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}
