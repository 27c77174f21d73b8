import fc from 'fast-check';
import { readPageText } from '@tidegate/database';
import type { PushPlatform } from '@tidegate/domain';
import { rowListing, textListing, type Recipient } from './wave-recipients';

const LETTER: Record<PushPlatform, string> = { fcm: 'f', apns: 'a', webpush: 'w' };

describe('a wave listed as text or as rows', () => {
  it('gives the same size, end, last id and batches (ids, partitions, platform counts) for any page and layout', () => {
    fc.assert(
      fc.property(
        // A page of ascending ids (gaps of any size) read with one row more than the limit, or fewer.
        fc.array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.constantFrom<PushPlatform>('fcm', 'apns', 'webpush')), { maxLength: 300 }),
        fc.integer({ min: 1, max: 320 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 13 }),
        fc.constantFrom(1, 8, 1024),
        (steps, limit, size, of, block) => {
          let id = 100;
          const read: Recipient[] = steps.slice(0, limit + 1).map(([gap, platform]) => ({ id: String((id += gap)), platform }));
          const more = read.length > limit;
          const recipients = read.slice(0, limit);
          const lastId = recipients.length === 0 ? 100n : BigInt(recipients[recipients.length - 1]!.id);
          const rows = rowListing({ recipients, more, lastId });
          const page = readPageText(
            read.length,
            read.length === 0 ? null : read.map((r) => r.id).join(','),
            read.length === 0 ? null : read.map((r) => LETTER[r.platform]).join(''),
          );
          expect(page).not.toBeNull();
          const text = textListing(page!, 100n, limit);
          expect([text.size, text.more, text.lastId]).toEqual([rows.size, rows.more, rows.lastId]);
          const layout = { of, block };
          expect(text.cut(size, layout)).toEqual(rows.cut(size, layout));
        },
      ),
      { numRuns: 400 },
    );
  });
});
