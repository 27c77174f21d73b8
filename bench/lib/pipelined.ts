/** Running the product's own Redis code (AdmissionStore and friends) many calls per round trip. */
import type { RedisClient } from '@tidegate/redis';

/**
 * Hands the commands of an AdmissionStore to one Redis pipeline at a time: the store's own code (keys, arguments,
 * reply parsing) with a round trip per batch instead of per call. `defineScript` calls `defineCommand`, then the
 * command by name; both are served here.
 */
export class PipelinedClient {
  private pending: Array<{ name: string; args: unknown[]; resolve: (r: unknown) => void; reject: (e: Error) => void }> = [];

  constructor(private readonly redis: RedisClient) {}

  defineCommand(name: string, definition: { lua: string; numberOfKeys: number }): void {
    this.redis.defineCommand(name, definition);
    (this as unknown as Record<string, unknown>)[name] = (...args: unknown[]) =>
      new Promise((resolve, reject) => this.pending.push({ name, args, resolve, reject }));
  }

  /**
   * Sends every call queued since the last flush, and by the end of this event-loop turn, in one round trip. `atomic`: inside MULTI/EXEC, so other clients
   * see all of the batch or none of it (all its keys must be in one Cluster slot); the transaction then ends with
   * Redis's `TIME`, and the result is that instant in ms since the epoch (fractional): when the batch took effect.
   */
  async flush(options: { atomic?: boolean } = {}): Promise<number | null> {
    // What the store sends at the end of a turn (its batched arrivals: libs/admission arrival-batches.ts) first.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const batch = this.pending;
    this.pending = [];
    const pipeline = (options.atomic ? this.redis.multi() : this.redis.pipeline()) as unknown as Record<
      string,
      (...args: unknown[]) => unknown
    > & {
      exec(): Promise<Array<[Error | null, unknown]> | null>;
    };
    for (const call of batch) (pipeline[call.name] as (...args: unknown[]) => unknown)(...call.args);
    if (options.atomic) (pipeline.time as () => unknown)();
    const results = (await pipeline.exec()) ?? [];
    batch.forEach((call, i) => {
      const [err, result] = results[i] ?? [new Error('no reply'), null];
      if (err) call.reject(err);
      else call.resolve(result);
    });
    if (!options.atomic) return null;
    const [err, time] = results[batch.length] ?? [new Error('no reply to TIME'), null];
    if (err) throw err;
    const [seconds, micros] = time as [string, string];
    return Number(seconds) * 1000 + Number(micros) / 1000;
  }
}
