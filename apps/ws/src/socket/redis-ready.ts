import type { RedisClient } from '@tidegate/redis';

/**
 * Waits, a bounded while, for a Redis client to be ready (connected, and after a reconnect its state restored). The
 * app's main client fails commands at once while it is not ready (no offline queue), which is right for a request
 * but wrong for a user whose handshake reaches a process that started a moment before its Redis connection came up.
 * One `ready` listener, however many wait.
 */
export class RedisReadyWait {
  private ready: Promise<void> | undefined;

  constructor(private readonly client: RedisClient) {}

  isReady(): boolean {
    return this.client.status === 'ready';
  }

  /** True at once when ready; else whether it became ready within `timeoutMs`. */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.isReady()) return true;
    this.ready ??= new Promise<void>((resolve) =>
      this.client.once('ready', () => {
        this.ready = undefined;
        resolve();
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([this.ready.then(() => true), expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
