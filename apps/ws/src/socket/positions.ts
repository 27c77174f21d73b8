/**
 * Places in line for many tickets at once, from one slice of the room's gone bitmap: no Redis call per user.
 * Pure logic, no I/O.
 *
 * Redis bitmaps are big-endian within each byte: bit offset n lives in byte n >> 3 at mask 0x80 >> (n & 7).
 */

/** A GETRANGE of the gone bitmap starting at byte `firstByte`. */
export interface GoneSlice {
  firstByte: number;
  bytes: Buffer;
}

export function isGone(slice: GoneSlice, ticket: number): boolean {
  const index = (ticket >> 3) - slice.firstByte;
  if (index < 0 || index >= slice.bytes.length) return false;
  return ((slice.bytes[index] ?? 0) & (0x80 >> (ticket & 7))) !== 0;
}

/** Set bits per byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, byte) => {
  let n = 0;
  for (let x = byte; x !== 0; x &= x - 1) n++;
  return n;
});

/** Gone tickets among ticket numbers from .. to - 1: masked first and last bytes, whole bytes in between. */
function goneBetween(slice: GoneSlice, from: number, to: number): number {
  if (to <= from) return 0;
  const { bytes, firstByte } = slice;
  const byteAt = (n: number) => bytes[n - firstByte] ?? 0; // outside the slice: zeros
  const first = Math.floor(from / 8);
  const last = Math.floor(to / 8); // the byte holding `to`: only its bits before `to` count
  const head = 0xff >> (from & 7); // bits from `from` to the end of its byte (Redis order: 0x80 is the first)
  const tail = ~(0xff >> (to & 7)) & 0xff; // bits of the last byte before `to`
  if (first === last) return POPCOUNT[byteAt(first) & head & tail] as number;
  let n = (POPCOUNT[byteAt(first) & head] as number) + (POPCOUNT[byteAt(last) & tail] as number);
  const end = Math.min(bytes.length, last - firstByte);
  for (let i = Math.max(0, first + 1 - firstByte); i < end; i++) n += POPCOUNT[bytes[i] as number] as number;
  return n;
}

/**
 * For each waiting ticket (all > serving), its place: 1 + the tickets ahead of it that are still in line.
 * One pass over the bytes between `serving` and the largest ticket (a table lookup per byte: a million-ticket line
 * is 125 KB), whatever the number of tickets.
 */
export function positionsOf(tickets: readonly number[], serving: number, slice: GoneSlice): Map<number, number> {
  const sorted = Float64Array.from(new Set(tickets)).sort(); // a typed array sorts numerically
  const out = new Map<number, number>();
  let goneAhead = 0;
  let cursor = serving + 1;
  for (const ticket of sorted) {
    if (ticket <= serving) continue;
    goneAhead += goneBetween(slice, cursor, ticket);
    cursor = ticket;
    out.set(ticket, ticket - serving - goneAhead);
  }
  return out;
}
