/**
 * How many jobs each of `queues` partitioned send queues' workers takes at once when they share `slots` send slots:
 * about a fair share of the slots plus one, never more than all of them. A job taken while every slot is busy waits
 * in SendSlots, locked by this process: with 12 queues each taking SEND_CONCURRENCY (8), a worker process held up to
 * 96 jobs to run 8, which no other worker process could take meanwhile, whose data stayed in memory long enough to
 * be promoted to V8's old generation, and each costing its queue's worker a fetch early (issue #12's eighth pass,
 * docs/benchmarks.md). With a share, the queues together take the slots plus one job each; a campaign whose batches
 * all sit in one queue (a small one: fewer partitions) runs that queue's share at once.
 */
export function sendQueueConcurrency(slots: number, queues: number): number {
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`send slots must be a whole number, 1 or more: ${slots}`);
  if (!Number.isInteger(queues) || queues < 1) throw new RangeError(`send queues must be a whole number, 1 or more: ${queues}`);
  return Math.min(slots, Math.ceil(slots / queues) + 1);
}

/**
 * A counting semaphore: the send workers of every partitioned queue share SEND_CONCURRENCY slots, so a worker process
 * sends at most that many batches at once however many send queues it works. A job taken from its queue while every
 * slot is busy waits here (locked, its lock renewed by BullMQ), first come first served.
 */
export class SendSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`send slots must be a whole number, 1 or more: ${size}`);
    this.free = size;
  }

  /** Runs `work` in a slot (waiting for one), releasing it however the work ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }

  /** Slots in use now (for tests and metrics). */
  get busy(): number {
    return this.size - this.free;
  }
}
