import fc from 'fast-check';
import { readSendBatch, storeSendBatch, type JobPayload } from './queues';

const batch = (deviceIds: string[]): JobPayload<'send-batch'> => ({
  campaignId: 'c',
  wave: 2,
  batch: 7,
  deviceIds,
  attempt: 1,
  platforms: { fcm: deviceIds.length, apns: 0, webpush: 0 },
  partition: { index: 3, of: 12 },
});

describe('a send batch as its job stores it', () => {
  it('joins the device ids into one string and reads them back, the other fields as they are', () => {
    const stored = storeSendBatch(batch(['9', '10', '1000']));
    expect(stored).toEqual({ ...batch(['9', '10', '1000']), deviceIds: '9,10,1000' });
    expect(JSON.parse(JSON.stringify(stored))).toEqual(stored);
    expect(readSendBatch(stored)).toEqual(batch(['9', '10', '1000']));
  });

  it('reads a job queued before, its ids as an array', () => {
    expect(readSendBatch(batch(['1', '2']))).toEqual(batch(['1', '2']));
  });

  it('keeps an array when the ids cannot be joined (none, an empty one, one with a comma)', () => {
    for (const ids of [[], ['1', ''], ['1', '2,3']]) {
      expect(storeSendBatch(batch(ids))).toEqual(batch(ids));
      expect(readSendBatch(storeSendBatch(batch(ids)))).toEqual(batch(ids));
    }
  });

  it('reads back any list of ids it stores, through JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 50 }), (ids) => {
        const stored = JSON.parse(JSON.stringify(storeSendBatch(batch(ids)))) as Parameters<typeof readSendBatch>[0];
        expect(readSendBatch(stored)).toEqual(batch(ids));
      }),
      { numRuns: 500 },
    );
  });
});
