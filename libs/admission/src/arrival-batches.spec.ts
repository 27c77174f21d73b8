import { ArrivalBatches, MAX_ARRIVALS_PER_BATCH, type PendingArrival } from './arrival-batches';

const window = (key: string) => ({ key, windowMs: 1000, limit: 5, blockMs: 0 });

describe('ArrivalBatches', () => {
  /** A batcher whose turn ends when the test says so, recording every batch it sends. */
  function setup(max?: number) {
    const sent: Array<{ roomId: string; batch: Array<PendingArrival<string>> }> = [];
    let endOfTurn: (() => void) | null = null;
    let scheduled = 0;
    const batches = new ArrivalBatches<string>(
      (roomId, batch) => sent.push({ roomId, batch }),
      (fn) => {
        scheduled++;
        endOfTurn = fn;
      },
      max,
    );
    const endTurn = () => {
      const fn = endOfTurn;
      endOfTurn = null;
      fn?.();
    };
    return { batches, sent, endTurn, scheduled: () => scheduled };
  }

  it('sends one batch per room per turn, each in the order its arrivals came, and settles each arrival with its own answer', async () => {
    const { batches, sent, endTurn, scheduled } = setup();
    const a = [
      batches.add('shop', window('c1')),
      batches.add('shop', null),
      batches.add('news', window('c2')),
      batches.add('shop', window('c3')),
    ];
    expect(sent).toHaveLength(0); // nothing before the turn ends
    expect(scheduled()).toBe(1); // one end-of-turn callback for the whole turn
    endTurn();
    expect(sent.map((s) => [s.roomId, s.batch.map((p) => p.client?.key ?? null)])).toEqual([
      ['shop', ['c1', null, 'c3']],
      ['news', ['c2']],
    ]);
    sent[0]!.batch.forEach((p, i) => p.resolve(`shop-${i}`));
    sent[1]!.batch[0]!.resolve('news-0');
    expect(await Promise.all(a)).toEqual(['shop-0', 'shop-1', 'news-0', 'shop-2']);

    // The next turn starts a new batch.
    const next = batches.add('shop', null);
    expect(scheduled()).toBe(2);
    endTurn();
    expect(sent).toHaveLength(3);
    sent[2]!.batch[0]!.reject(new Error('Redis is down'));
    await expect(next).rejects.toThrow('Redis is down');
  });

  it('sends a full batch at once and begins another, so no call carries more than the maximum', () => {
    const { batches, sent, endTurn } = setup(3);
    for (let i = 0; i < 7; i++) void batches.add('shop', window(`c${i}`));
    expect(sent.map((s) => s.batch.length)).toEqual([3, 3]);
    endTurn();
    expect(sent.map((s) => s.batch.map((p) => p.client?.key))).toEqual([['c0', 'c1', 'c2'], ['c3', 'c4', 'c5'], ['c6']]);
  });

  it("fails only the batch whose send threw: the turn's other rooms are still sent", async () => {
    const sent: string[] = [];
    let endOfTurn: () => void = () => undefined;
    const batches = new ArrivalBatches<string>(
      (roomId, batch) => {
        if (roomId === 'broken') throw new Error('cannot build the call');
        sent.push(roomId);
        batch.forEach((p) => p.resolve(roomId));
      },
      (fn) => {
        endOfTurn = fn;
      },
    );
    const broken = batches.add('broken', null);
    const shop = batches.add('shop', null);
    endOfTurn();
    await expect(broken).rejects.toThrow('cannot build the call');
    await expect(shop).resolves.toBe('shop');
    expect(sent).toEqual(['shop']);
  });

  it('defaults to at most MAX_ARRIVALS_PER_BATCH arrivals per call, flushed by setImmediate', async () => {
    const sizes: number[] = [];
    const batches = new ArrivalBatches<number>((_room, batch) => {
      sizes.push(batch.length);
      batch.forEach((p, i) => p.resolve(i));
    });
    const all = Array.from({ length: MAX_ARRIVALS_PER_BATCH + 5 }, () => batches.add('shop', null));
    expect(sizes).toEqual([MAX_ARRIVALS_PER_BATCH]);
    const results = await Promise.all(all);
    expect(sizes).toEqual([MAX_ARRIVALS_PER_BATCH, 5]);
    expect(results.at(-1)).toBe(4);
  });
});
