/**
 * A bare socket.io server on 127.0.0.1 (no adapter, no Nest, no authentication): the baseline the ws app is compared
 * with. Run as a child of a benchmark (`fork`, ideally with `--expose-gc`): it reports its port with
 * `{ type: 'listening', port }`, and answers
 *   { type: 'emit', position }  broadcasts one `position.v1` to every socket (`io.emit`); reply `emitted` with
 *                               `at`, the Date.now() just before.
 *   { type: 'memory?' }         process.memoryUsage() after a full GC (when exposed); reply `memory`.
 *   { type: 'heap-snapshot?', path }  a V8 heap snapshot written to `path`; reply `heap-snapshot`.
 * It exits on SIGTERM or when the benchmark's IPC channel closes.
 */
import http from 'node:http';
import v8 from 'node:v8';
import { Server } from 'socket.io';

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });

httpServer.listen(0, '127.0.0.1', () => {
  const address = httpServer.address();
  if (typeof address !== 'object' || !address) throw new Error('not listening on a TCP port');
  process.send?.({ type: 'listening', port: address.port });
});

process.on('message', (message: { type?: string; position?: number; path?: string }) => {
  if (message.type === 'emit') {
    const position = message.position ?? 1;
    const at = Date.now();
    io.emit('position.v1', { position, aheadOfYou: position - 1, etaSeconds: 60 });
    process.send?.({ type: 'emitted', at, sockets: io.engine.clientsCount });
  } else if (message.type === 'memory?') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'memory', memory: process.memoryUsage(), sockets: io.engine.clientsCount });
  } else if (message.type === 'heap-snapshot?' && message.path) {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'heap-snapshot', path: v8.writeHeapSnapshot(message.path) });
  }
});

const stop = () => {
  void io.close();
  httpServer.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
