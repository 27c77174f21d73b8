/**
 * A bare `node:http` server on 127.0.0.1 answering every request with a tiny JSON body: the baseline the gateway is
 * compared with, and the stand-in origin behind it. Run as a child of a benchmark (`fork`): it reports its port
 * with `{ type: 'listening', port }` and exits when SIGTERM arrives or the benchmark's IPC channel closes.
 *
 * Usage: node dist/bench/servers/bare-http.js '<json body>'
 */
import http from 'node:http';

const body = Buffer.from(process.argv[2] ?? '{"ok":true}');

const server = http.createServer((req, res) => {
  // Drain a request body, if any, before answering (as any real server must).
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('not listening on a TCP port');
  process.send?.({ type: 'listening', port: address.port });
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
