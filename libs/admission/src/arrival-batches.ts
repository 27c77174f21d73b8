/**
 * Group commit for arrivals (issue #12): the arrivals at one room that reach a process in the same event-loop turn go
 * to Redis as one script call (arrive-11+.lua), in the order they came, each decided exactly as if it ran alone.
 *
 * Why: in a surge almost every request is a new arrival at the same room. One script call each cost Redis about
 * 16 µs of its single core per arrival (the call's own overhead, then the room's settings, counters, clock sample,
 * bitmaps and expiries read and written again for every arrival), and the gateway an ioredis command, its
 * arguments and its reply each. Batched, the room's state is read and written once per batch and each arrival adds
 * its throttle count and its share of one bitmap write. A batch holds what arrived in one turn (at most
 * MAX_ARRIVALS_PER_BATCH: a longer one is sent at once and a new one begun), so an arrival waits no longer than it
 * did for the turn-batched socket write it already shared (libs/redis/src/turn-writes.ts).
 *
 * A failed call fails every arrival of its batch (each request answers 503, as one failed call did before); a reply
 * that does not hold one answer per arrival is a contract breach and fails them all too.
 */
import type { ClientWindow } from './admission-results';

/** Bounds one script call's run time in Redis (~3 µs per arrival) and its argument count. */
export const MAX_ARRIVALS_PER_BATCH = 256;

export interface PendingArrival<T> {
  client: ClientWindow | null;
  resolve: (result: T) => void;
  reject: (err: Error) => void;
}

/** Runs `fn` once the current event-loop turn's I/O has been handled (setImmediate by default). */
export type TurnScheduler = (fn: () => void) => void;

export class ArrivalBatches<T> {
  private pending = new Map<string, Array<PendingArrival<T>>>();
  private scheduled = false;

  /**
   * `send` makes one script call for the batch and settles every arrival in it (it must not throw: a failure
   * rejects each arrival).
   */
  constructor(
    private readonly send: (roomId: string, batch: Array<PendingArrival<T>>) => void,
    private readonly schedule: TurnScheduler = setImmediate,
    private readonly maxPerBatch = MAX_ARRIVALS_PER_BATCH,
  ) {}

  add(roomId: string, client: ClientWindow | null): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let batch = this.pending.get(roomId);
      if (batch === undefined) {
        batch = [];
        this.pending.set(roomId, batch);
      }
      batch.push({ client, resolve, reject });
      if (batch.length >= this.maxPerBatch) {
        this.pending.delete(roomId);
        this.sendSafely(roomId, batch);
      } else if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [roomId, batch] of pending) this.sendSafely(roomId, batch);
  };

  /** `send` must settle its batch; should it throw instead, the batch fails, and the other rooms' batches still go. */
  private sendSafely(roomId: string, batch: Array<PendingArrival<T>>): void {
    try {
      this.send(roomId, batch);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const arrival of batch) arrival.reject(error);
    }
  }
}
