/**
 * A ws process's copy of one room's gone bitmap, kept per block of 4096 tickets (512 bytes) and refreshed from Redis
 * only where the line's per-block gone counts (`gone-blocks`, the Fenwick tree of _gone-blocks.lua) say it changed.
 * So a tick reads 4 bytes per block of the line instead of every byte of it. Pure logic; AdmissionStore.lineView
 * does the reading.
 *
 * Why a block whose count did not change needs no reading: within one line (between two resets, when the line empties)
 * gone bits are only ever set, and every set bit is counted in its block; so an equal count means equal bits. A reset
 * (release-16 deletes the bitmap and its counts) can only happen once `serving` has reached the last ticket issued,
 * so a copy taken when the last ticket was T is trusted only while `serving` < T.
 */

/** Bytes of the gone bitmap from byte `firstByte` (Redis order: ticket n is bit 0x80 >> (n & 7) of byte n >> 3). */
export interface GoneSlice {
  firstByte: number;
  bytes: Buffer;
}

export const GONE_BLOCK_TICKETS = 4096;
const BLOCK_BYTES = GONE_BLOCK_TICKETS / 8;
/** Positions of the tree (see _gone-blocks.lua): block b is node b, at position TREE_SIZE - b. */
const TREE_SIZE = 2 ** 20;
const ZERO = Buffer.alloc(BLOCK_BYTES);

export const goneBlockOf = (ticket: number) => Math.floor(ticket / GONE_BLOCK_TICKETS);

/**
 * Gone tickets per block for blocks first, first + 1, … from the tree's nodes at those offsets (`GETRANGE` of the
 * string from byte 4 × first: big-endian u32 each). Nodes past the end were never written and count 0, as do blocks
 * past it. Node i holds its own block plus its children i + 1, i + 2, i + 4, … (below lowbit(TREE_SIZE − i)).
 */
export function blockCounts(nodes: Buffer, first: number): number[] {
  const n = Math.floor(nodes.length / 4);
  const node = (i: number) => (i - first < n ? nodes.readUInt32BE((i - first) * 4) : 0);
  const out: number[] = [];
  for (let i = first; i < first + n; i++) {
    const r = TREE_SIZE - i;
    const low = r & -r;
    let count = node(i);
    for (let k = 1; k < low; k *= 2) count -= node(i + k);
    out.push(count);
  }
  return out;
}

interface Block {
  bytes: Buffer;
  count: number;
  /** The last ticket issued when the copy was taken (or earlier). */
  ticketsAt: number;
}

export class GoneMirror {
  private readonly blocks = new Map<number, Block>();
  /** The first block the last tick looked at: the tree is read from there (the line only moves forward). */
  firstBlock = 0;

  /**
   * Which of the blocks first .. last need reading, given this tick's serving, last ticket and per-block counts
   * (`counts[j]` is block countsFrom + j; missing counts are 0). Blocks with no gone ticket are zeroed here; blocks
   * before `first` are dropped.
   */
  plan(serving: number, tickets: number, first: number, last: number, counts: number[], countsFrom: number): number[] {
    for (const b of this.blocks.keys()) if (b < first) this.blocks.delete(b);
    this.firstBlock = first;
    const stale: number[] = [];
    for (let b = first; b <= last; b++) {
      const count = counts[b - countsFrom] ?? 0;
      const have = this.blocks.get(b);
      if (have && have.count === count && serving < have.ticketsAt) continue;
      if (count === 0) this.blocks.set(b, { bytes: ZERO, count, ticketsAt: tickets });
      else stale.push(b);
    }
    return stale;
  }

  /** Stores a block read from Redis (`bytes` may be short: the bitmap ends there). */
  store(block: number, bytes: Buffer, count: number, tickets: number): void {
    const full = bytes.length === BLOCK_BYTES ? bytes : Buffer.concat([bytes, ZERO], BLOCK_BYTES);
    this.blocks.set(block, { bytes: full, count, ticketsAt: tickets });
  }

  /** The copy of blocks first .. last as one slice (blocks not held read as zeros). */
  slice(first: number, last: number): GoneSlice {
    const parts: Buffer[] = [];
    for (let b = first; b <= last; b++) parts.push(this.blocks.get(b)?.bytes ?? ZERO);
    return { firstByte: first * BLOCK_BYTES, bytes: Buffer.concat(parts) };
  }
}

/** Runs of consecutive block numbers (sorted input): one GETRANGE each. */
export function blockRuns(blocks: readonly number[]): Array<{ from: number; to: number }> {
  const runs: Array<{ from: number; to: number }> = [];
  for (const b of blocks) {
    const last = runs[runs.length - 1];
    if (last && last.to === b - 1) last.to = b;
    else runs.push({ from: b, to: b });
  }
  return runs;
}

export const blockBytes = BLOCK_BYTES;
