/**
 * Preloaded into an app under benchmark (`node --expose-gc --require dist/bench/servers/memory-probe.js <app>`):
 * answers the IPC message `{ type: 'memory?' }` with `{ type: 'memory', memory }`, the process's
 * `process.memoryUsage()` taken right after a full garbage collection (when `--expose-gc` is on; `gc: false` in the
 * reply otherwise). Changes nothing else in the app.
 */
process.on('message', (message: unknown) => {
  if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== 'memory?') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  try {
    process.send?.({ type: 'memory', memory: process.memoryUsage(), gc: gc !== undefined });
  } catch (err) {
    // Reading the RSS opens /proc/self/statm: at the open-file limit that fails (EMFILE); the app must live on.
    process.send?.({ type: 'memory', memory: null, error: err instanceof Error ? err.message : String(err) });
  }
});
// The channel must not keep the app alive on its own.
process.channel?.unref();

export {};
