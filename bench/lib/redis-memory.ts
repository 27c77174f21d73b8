/** Redis memory over a run: `INFO memory` sampled on a timer, the peak kept. */
import type { RedisClient } from '@tidegate/redis';
import { redisInfo } from './services';

export interface RedisMemoryPeak {
  /** `used_memory` when sampling started, bytes. */
  before: number;
  /** The highest `used_memory` seen, bytes. */
  peak: number;
  /** peak − before: what the run added at its worst. */
  peakDelta: number;
  /** `used_memory` at the last sample. */
  after: number;
  samples: number;
  intervalMs: number;
}

async function usedMemory(client: RedisClient): Promise<number> {
  return Number((await redisInfo(client, 'memory')).get('used_memory') ?? NaN);
}

/**
 * Samples `used_memory` every `intervalMs` (one sample at a time: a slow INFO delays the next, never piles up)
 * until `stop()`, which takes a last sample and returns the numbers. Whatever else uses the same Redis counts too.
 */
export async function sampleRedisMemory(client: RedisClient, intervalMs = 100): Promise<{ stop(): Promise<RedisMemoryPeak> }> {
  const before = await usedMemory(client);
  let peak = before;
  let last = before;
  let samples = 1;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = () => {
    inFlight = usedMemory(client).then(
      (used) => {
        samples++;
        last = used;
        if (used > peak) peak = used;
      },
      () => undefined, // a failed sample is skipped; the next one may work
    );
    void inFlight.finally(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      const used = await usedMemory(client);
      samples++;
      last = used;
      if (used > peak) peak = used;
      return { before, peak, peakDelta: peak - before, after: last, samples, intervalMs };
    },
  };
}
