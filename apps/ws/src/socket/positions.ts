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

/**
 * For each waiting ticket (all > serving), its place: 1 + the tickets ahead of it that are still in line.
 * One pass over the bits between `serving` and the largest ticket, whatever the number of tickets.
 */
export function positionsOf(tickets: readonly number[], serving: number, slice: GoneSlice): Map<number, number> {
  const sorted = [...new Set(tickets)].filter((t) => t > serving).sort((a, b) => a - b);
  const out = new Map<number, number>();
  let goneAhead = 0;
  let cursor = serving + 1;
  for (const ticket of sorted) {
    for (; cursor < ticket; cursor++) if (isGone(slice, cursor)) goneAhead++;
    out.set(ticket, ticket - serving - goneAhead);
  }
  return out;
}
