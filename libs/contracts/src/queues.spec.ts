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

  it('keeps the ids of a batch laid out by blocks under `ids`, so a worker from before blocks finds no deviceIds', () => {
    const blocked = { ...batch(['1024', '1025', '1026']), partition: { index: 1, of: 12, block: 1024 } };
    const stored = storeSendBatch(blocked);
    expect(stored).not.toHaveProperty('deviceIds');
    expect(stored).toEqual({ ...blocked, deviceIds: undefined, ids: '1024,1025,1026' });
    expect(readSendBatch(JSON.parse(JSON.stringify(stored)) as typeof stored)).toEqual(blocked);
    // What a worker from before blocks did with it: its readSendBatch returned the job as stored, and it read
    // `deviceIds.length` first: a TypeError before it could check or send anything.
    const before = (s: Record<string, unknown>) =>
      typeof s.deviceIds !== 'string' ? s : { ...s, deviceIds: String(s.deviceIds).split(',') };
    expect(() => (before(stored as unknown as Record<string, unknown>).deviceIds as string[]).length).toThrow(TypeError);
    const unjoinable = { ...blocked, deviceIds: ['1', '2,3'] };
    expect(storeSendBatch(unjoinable)).toEqual({ ...unjoinable, deviceIds: undefined, ids: ['1', '2,3'] });
    expect(readSendBatch(storeSendBatch(unjoinable))).toEqual(unjoinable);
  });

  it('stores ids that come joined (the planner’s slices of a wave’s text) as it stores them listed, and refuses other text', () => {
    const joined = (joinedIds: string, partition: JobPayload<'send-batch'>['partition']) => {
      const { deviceIds: _ids, ...rest } = { ...batch(joinedIds.split(',')), partition };
      return { ...rest, joinedIds };
    };
    for (const partition of [{ index: 3, of: 12 }, { index: 1, of: 12, block: 1024 }, undefined]) {
      const listed = { ...batch(['9', '10', '1000']), partition };
      expect(storeSendBatch(joined('9,10,1000', partition))).toEqual(storeSendBatch(listed));
      expect(readSendBatch(storeSendBatch(joined('9,10,1000', partition)))).toEqual(listed);
    }
    for (const bad of ['', '1,,2', '1,2,', ',1', '1;2', '1, 2', '["1"]']) {
      expect(() => storeSendBatch(joined(bad, { index: 0, of: 1 }))).toThrow(/decimal ids separated by commas/);
    }
  });

  it('reads back any list of ids it stores, through JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 50 }), fc.boolean(), (ids, blocks) => {
        const data = blocks ? { ...batch(ids), partition: { index: 3, of: 12, block: 64 } } : batch(ids);
        const stored = JSON.parse(JSON.stringify(storeSendBatch(data))) as Parameters<typeof readSendBatch>[0];
        expect(readSendBatch(stored)).toEqual(data);
      }),
      { numRuns: 500 },
    );
  });
});
