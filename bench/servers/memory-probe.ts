/**
 * Preloaded into an app under benchmark (`node --expose-gc --require dist/bench/servers/memory-probe.js <app>`):
 * answers the IPC message `{ type: 'memory?' }` with `{ type: 'memory', memory }`, the process's
 * `process.memoryUsage()` taken right after a full garbage collection (when `--expose-gc` is on; `gc: false` in the
 * reply otherwise). `{ type: 'heap-snapshot?', path }` writes a V8 heap snapshot to `path` (after a full GC) and
 * answers `{ type: 'heap-snapshot', path }`. Changes nothing else in the app.
 */
import v8 from 'node:v8';

process.on('message', (message: unknown) => {
  if (typeof message !== 'object' || message === null) return;
  const m = message as { type?: unknown; path?: unknown };
  if (m.type === 'heap-snapshot?' && typeof m.path === 'string') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'heap-snapshot', path: v8.writeHeapSnapshot(m.path) });
    return;
  }
  if (m.type !== 'memory?') return;
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
