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
