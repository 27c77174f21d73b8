import fc from 'fast-check';
import { isGone, positionsOf, type GoneSlice } from './positions';

/** A bitmap as Redis stores it, with the given ticket numbers set, sliced from byte `firstByte`. */
function sliceWith(gone: number[], firstByte = 0, length = 64): GoneSlice {
  const bytes = Buffer.alloc(length);
  for (const t of gone) {
    const i = (t >> 3) - firstByte;
    if (i >= 0 && i < length) bytes[i] = (bytes[i] ?? 0) | (0x80 >> (t & 7));
  }
  return { firstByte, bytes };
}

describe('positions from the gone bitmap', () => {
  it('reads bits in Redis order (big-endian within a byte)', () => {
    const slice = { firstByte: 0, bytes: Buffer.from([0b1000_0001, 0b0100_0000]) }; // SETBIT 0, 7 and 9
    expect([0, 1, 7, 8, 9, 10].map((t) => isGone(slice, t))).toEqual([true, false, true, false, true, false]);
  });

  it('counts only those still in line ahead of each ticket', () => {
    // Serving 100; 103 and 105 left.
    const positions = positionsOf([101, 102, 104, 106, 110], 100, sliceWith([103, 105], 12, 4));
    expect(Object.fromEntries(positions)).toEqual({ 101: 1, 102: 2, 104: 3, 106: 4, 110: 8 });
  });

  it('ignores tickets already served', () => {
    expect(positionsOf([5, 6, 7], 6, sliceWith([])).get(7)).toBe(1);
    expect(positionsOf([5, 6], 6, sliceWith([])).size).toBe(0);
  });

  it('matches counting one ticket at a time (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 400 }), { maxLength: 60 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 400 }), { maxLength: 60 }),
        (serving, tickets, gone) => {
          const slice = sliceWith(gone, 0, 64);
          const positions = positionsOf(tickets, serving, slice);
          for (const t of tickets.filter((x) => x > serving)) {
            let ahead = 0;
            for (let n = serving + 1; n < t; n++) if (!gone.includes(n)) ahead++;
            expect(positions.get(t)).toBe(ahead + 1);
          }
        },
      ),
    );
  });

  it('matches counting one ticket at a time over slices starting anywhere, a byte at a time in between (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 4000 }), { maxLength: 40 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 4000 }), { maxLength: 400 }),
        (firstByte, offset, rel, relGone) => {
          const serving = firstByte * 8 + (offset % 8);
          const tickets = rel.map((r) => serving + 1 + r);
          const gone = relGone.map((r) => serving + 1 + r);
          const slice = sliceWith(gone, firstByte, 520);
          const positions = positionsOf(tickets, serving, slice);
          const goneSet = new Set(gone);
          for (const t of tickets) {
            let ahead = 0;
            for (let n = serving + 1; n < t; n++) if (!goneSet.has(n)) ahead++;
            expect(positions.get(t)).toBe(ahead + 1);
          }
        },
      ),
    );
  });
});
