import type { Socket } from 'socket.io';
import type { ServerToClientEvents } from '@tidegate/contracts';

/**
 * Sends one event with a JSON payload to one socket, exactly as `socket.emit(event, payload)` puts it on the wire,
 * without socket.io's per-emit work (packet and flag objects, the outgoing listeners, the binary scan, the encoder's
 * debug calls): the socket.io EVENT packet of the main namespace with no ack, `2["event",payload]`, handed to
 * engine.io as one message. For the hot path only (every waiting socket's position when the line moves), where that
 * work was a fifth of the fan-out's CPU next to a bare broadcast (docs/benchmarks.md, "ws"). Any other namespace
 * goes through `socket.emit`. Like `socket.emit`, a socket whose connection is no longer open gets nothing.
 */
export function emitJson<E extends keyof ServerToClientEvents>(
  socket: Socket,
  event: E,
  payload: Parameters<ServerToClientEvents[E]>[0],
): void {
  if (socket.nsp.name !== '/') {
    socket.emit(event, payload);
    return;
  }
  if (socket.conn.readyState !== 'open') return;
  socket.conn.write(`2${JSON.stringify([event, payload])}`);
}
