import { SendSlots } from './send-slots';

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
