import { Encoder, PacketType } from 'socket.io-parser';
import type { Socket } from 'socket.io';
import { emitJson } from './emit-json';

/** A socket reduced to what emitJson reads and writes. */
function socketOf(nsp: string, readyState = 'open') {
  const written: unknown[] = [];
  const emitted: unknown[][] = [];
  const socket = {
    nsp: { name: nsp },
    conn: { readyState, write: (data: unknown) => written.push(data) },
    emit: (...args: unknown[]) => emitted.push(args),
  };
  return { socket: socket as unknown as Socket, written, emitted };
}

describe('emitJson', () => {
  it("writes what socket.io's own encoder makes of the event", () => {
    const payload = { position: 42, aheadOfYou: 41, etaSeconds: 12.5 };
    const { socket, written } = socketOf('/');
    emitJson(socket, 'position.v1', payload);
    expect(written).toEqual(new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['position.v1', payload] }));
  });

  it('leaves other namespaces to socket.emit, and writes nothing to a closed connection', () => {
    const other = socketOf('/admin');
    emitJson(other.socket, 'position.v1', { position: 1, aheadOfYou: 0, etaSeconds: null });
    expect(other.emitted).toEqual([['position.v1', { position: 1, aheadOfYou: 0, etaSeconds: null }]]);
    const closed = socketOf('/', 'closing');
    emitJson(closed.socket, 'position.v1', { position: 1, aheadOfYou: 0, etaSeconds: null });
    expect(closed.written).toEqual([]);
  });
});
