/**
 * How many jobs each of `queues` partitioned send queues' workers takes at once to begin with, when they share `slots`
 * send slots: about a fair share of the slots plus one, never more than all of them. A job taken while every slot is
 * busy waits in SendSlots, locked by this process: with 12 queues each taking SEND_CONCURRENCY (8), a worker process
 * held up to 96 jobs to run 8, which no other worker process could take meanwhile, and whose data stayed in memory
 * long enough to be promoted to V8's old generation (issue #12's eighth pass, docs/benchmarks.md). A queue whose
 * jobs keep finding a free slot takes more (`nextQueueConcurrency`), so a single busy queue still fills every slot.
 */
export function sendQueueConcurrency(slots: number, queues: number): number {
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`send slots must be a whole number, 1 or more: ${slots}`);
  if (!Number.isInteger(queues) || queues < 1) throw new RangeError(`send queues must be a whole number, 1 or more: ${queues}`);
  return Math.min(slots, Math.ceil(slots / queues) + 1);
}

/**
 * A partitioned queue's worker's concurrency after one of its jobs ended: one less (down to its `share`) while jobs
 * wait for a slot, one more (up to every slot) while a slot is free and nobody waits, else as it is. So when every
 * queue has work the workers hold their shares, and a queue alone with work (the small campaigns, whose one or few
 * partitions all land on the first queues) grows to fill the slots.
 */
export function nextQueueConcurrency(current: number, share: number, slots: { size: number; busy: number; waiting: number }): number {
  if (slots.waiting > 0) return Math.max(share, current - 1);
  if (slots.busy < slots.size) return Math.min(slots.size, current + 1);
  return current;
}

/** What a queue's worker exposes to be resized (BullMQ's Worker has a `concurrency` setter). */
export interface Resizable {
  concurrency: number;
}

/**
 * Runs a partitioned queue's jobs in the shared slots, starting from its share and resizing its worker after each job
 * (`nextQueueConcurrency`).
 */
export class QueueShare {
  readonly share: number;

  constructor(
    private readonly slots: SendSlots,
    queues: number,
  ) {
    this.share = sendQueueConcurrency(slots.size, queues);
  }

  async run<T>(worker: Resizable, work: () => Promise<T>): Promise<T> {
    try {
      return await this.slots.run(work);
    } finally {
      const next = nextQueueConcurrency(worker.concurrency, this.share, this.slots);
      if (next !== worker.concurrency) worker.concurrency = next;
    }
  }
}

/**
 * A counting semaphore: the send workers of every partitioned queue share SEND_CONCURRENCY slots, so a worker process
 * sends at most that many batches at once however many send queues it works. A job taken from its queue while every
 * slot is busy waits here (locked, its lock renewed by BullMQ), first come first served.
 */
export class SendSlots {
  private free: number;
  private readonly queue: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`send slots must be a whole number, 1 or more: ${size}`);
    this.free = size;
  }

  /** Runs `work` in a slot (waiting for one), releasing it however the work ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.free++;
    }
  }

  /** Slots in use now (for tests and metrics). */
  get busy(): number {
    return this.size - this.free;
  }

  /** Works waiting for a slot now. */
  get waiting(): number {
    return this.queue.length;
  }
}
