/**
 * A send batch's devices read as one text value (DispatchRepository.activeDevices): PostgreSQL joins the rows, the
 * worker cuts them apart. The worker then makes one string per batch and slices of it instead of a row message, a
 * field array, a row array and a string per field for each of 500 devices, which cost its CPU and, living as long as
 * the batch, its garbage collector (issue #12's eighth pass, docs/benchmarks.md: the worker's CPU per notification
 * -10 %, PostgreSQL's +0.3 s per million).
 *
 * The value: each device's fields joined by U+001F (unit separator), the devices by U+001E (record separator), with
 * the number of rows beside it:
 *
 *   <id>␟<platform>␟<token>␟<p256dh or empty>␟<auth or empty>[␟<timezone>]␞<id>␟…
 *
 * Exact by counting, whatever the values hold: each row adds one record and exactly four (five with the zone)
 * separators of its own, so a value holding a record separator makes more records than rows, and one holding a unit
 * separator more fields than a record has. Either way `readDeviceText` returns null and the batch is read row by row
 * (no valid token, endpoint or key holds one: the device rules refuse control characters).
 */
import type { Platform } from '@prisma/client';
import type { SendableDevice, ZonedDevice } from './dispatch.repository';

const RECORD = '\x1e';
const FIELD = '\x1f';

/** The select list of the text read: the row count, then the joined devices (null for no row). */
export function deviceTextColumns(zone: boolean): string {
  const fields = `id::text, platform::text, token, coalesce(p256dh, ''), coalesce(auth, '')${zone ? ', timezone' : ''}`;
  return `count(*)::int, string_agg(concat_ws(E'\\x1f', ${fields}), E'\\x1e')`;
}

/**
 * The devices of a text read (`count` rows joined as `text`, see above), or null when the text is not exactly
 * `count` records of the expected fields. An empty key is null (as stored: only Web Push devices have keys).
 * `label` turns a platform as read into its constant.
 */
export function readDeviceText(
  count: number,
  text: string | null,
  zone: boolean,
  label: (platform: Platform) => Platform,
): Array<SendableDevice | ZonedDevice> | null {
  if (text === null) return count === 0 ? [] : null;
  const out: Array<SendableDevice | ZonedDevice> = [];
  const end = text.length;
  let at = 0;
  while (at <= end && out.length < count) {
    let next = text.indexOf(RECORD, at);
    if (next === -1) next = end;
    const a = text.indexOf(FIELD, at);
    const b = a === -1 ? -1 : text.indexOf(FIELD, a + 1);
    const c = b === -1 ? -1 : text.indexOf(FIELD, b + 1);
    const d = c === -1 ? -1 : text.indexOf(FIELD, c + 1);
    if (d === -1 || d >= next) return null;
    // The zone is a fifth field; without it, none may follow the fourth separator inside this record.
    const z = text.indexOf(FIELD, d + 1);
    const fieldsEnd = zone ? z : next;
    if (zone ? z === -1 || z >= next || text.lastIndexOf(FIELD, next - 1) !== z : z !== -1 && z < next) return null;
    const id = text.substring(at, a);
    const platform = label(text.substring(a + 1, b) as Platform);
    const token = text.substring(b + 1, c);
    const p256dh = c + 1 === d ? null : text.substring(c + 1, d);
    const auth = d + 1 === fieldsEnd ? null : text.substring(d + 1, fieldsEnd);
    out.push(zone ? { id, platform, token, p256dh, auth, timezone: text.substring(z + 1, next) } : { id, platform, token, p256dh, auth });
    at = next + 1;
  }
  // Every record read, none left over: as many devices as rows.
  return out.length === count && at === end + 1 ? out : null;
}
