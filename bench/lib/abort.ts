/** Waits that end as soon as the run is aborted (Ctrl-C), so no long wait holds up the clean-up. */
import { sleep } from './processes';

/** `promise`, or a rejection with the abort's reason as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort as () => void));
}

/** Sleeps, waking up early (with an error) when the run is aborted. */
export const pause = (ms: number, signal: AbortSignal): Promise<void> => abortable(sleep(ms), signal);
