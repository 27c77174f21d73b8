import { SendSlots, nextQueueConcurrency, sendQueueConcurrency } from './send-slots';

/** A promise with its resolve and reject, to finish work when the test says so. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SendSlots', () => {
  it('runs at most `size` works at once, the waiting ones first come first served', async () => {
    const slots = new SendSlots(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((gate, i) =>
      slots.run(async () => {
        started.push(i);
        await gate.promise;
        return i;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect(slots.busy).toBe(2);
    gates[1]!.resolve();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]!.resolve();
    gates[3]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(slots.busy).toBe(0);
  });

  it('frees the slot of a work that throws', async () => {
    const slots = new SendSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('provider down')))).rejects.toThrow('provider down');
    expect(slots.busy).toBe(0);
    expect(await slots.run(() => Promise.resolve('next'))).toBe('next');
  });

  it('refuses a size below one', () => {
    expect(() => new SendSlots(0)).toThrow(/send slots/);
  });
});

describe('sendQueueConcurrency', () => {
  it("gives each queue's worker a share of the slots plus one, so the queues together take the slots and one job each", () => {
    // The benchmark's worker: 8 slots, 12 partitioned queues (it took 96 jobs to run 8 before).
    expect(sendQueueConcurrency(8, 12)).toBe(2);
    expect(sendQueueConcurrency(4, 12)).toBe(2);
    expect(sendQueueConcurrency(8, 4)).toBe(3);
    for (const [slots, queues] of [
      [1, 1],
      [4, 3],
      [8, 12],
      [16, 5],
      [64, 256],
    ] as const) {
      const each = sendQueueConcurrency(slots, queues);
      expect(each * queues).toBeGreaterThanOrEqual(slots); // every slot can be filled when every queue has work
      expect(each * queues).toBeLessThanOrEqual(slots + 2 * queues);
    }
  });

  it('lets a single queue take every slot, and never more', () => {
    expect(sendQueueConcurrency(8, 1)).toBe(8);
    expect(sendQueueConcurrency(1, 12)).toBe(1);
  });

  it('refuses counts below one', () => {
    expect(() => sendQueueConcurrency(0, 3)).toThrow(/send slots/);
    expect(() => sendQueueConcurrency(4, 0)).toThrow(/send queues/);
  });
});

describe('nextQueueConcurrency', () => {
  const slots = (busy: number, waiting: number) => ({ size: 8, busy, waiting });

  it('grows by one while a slot is free and nobody waits, up to every slot', () => {
    expect(nextQueueConcurrency(2, 2, slots(5, 0))).toBe(3);
    expect(nextQueueConcurrency(7, 2, slots(7, 0))).toBe(8);
    expect(nextQueueConcurrency(8, 2, slots(0, 0))).toBe(8);
  });

  it('shrinks by one while jobs wait for a slot, down to its share', () => {
    expect(nextQueueConcurrency(5, 2, slots(8, 3))).toBe(4);
    expect(nextQueueConcurrency(2, 2, slots(8, 1))).toBe(2);
  });

  it('stays as it is when every slot is busy and nobody waits', () => {
    expect(nextQueueConcurrency(3, 2, slots(8, 0))).toBe(3);
  });
});
