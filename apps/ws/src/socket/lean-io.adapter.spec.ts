import { Logger } from '@nestjs/common';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { from, isObservable, of, type Observable } from 'rxjs';
import type { Socket } from 'socket.io';
import { LeanIoAdapter } from './lean-io.adapter';

/** A socket reduced to what the adapter uses: listeners by event, and what it emitted. */
function fakeSocket() {
  const listeners = new Map<string, (...args: unknown[]) => void>();
  const emitted: unknown[][] = [];
  const socket = {
    on: (event: string, fn: (...args: unknown[]) => void) => listeners.set(event, fn),
    emit: (...args: unknown[]) => emitted.push(args),
  };
  return { socket: socket as unknown as Socket, listeners, emitted };
}

/** Nest's transform: a handler's value, promise or observable as an observable. */
const transform = (result: unknown): Observable<unknown> =>
  isObservable(result) ? result : result instanceof Promise ? from(result) : of(result);

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function bind(handlers: Array<Partial<MessageMappingProperties> & Pick<MessageMappingProperties, 'message' | 'callback'>>) {
  const adapter = new LeanIoAdapter();
  const logged: unknown[] = [];
  jest.spyOn(Logger.prototype, 'error').mockImplementation((err: unknown) => void logged.push(err));
  const s = fakeSocket();
  adapter.bindMessageHandlers(
    s.socket,
    handlers.map((h) => ({ methodName: 'm', isAckHandledManually: false, ...h })),
    transform,
  );
  return { ...s, logged };
}

afterEach(() => jest.restoreAllMocks());

describe('LeanIoAdapter', () => {
  it('answers the ack with the handler result, with the data the client sent', async () => {
    const { listeners } = bind([{ message: 'echo', callback: (data: unknown) => Promise.resolve({ got: data }) }]);
    const ack = jest.fn();
    listeners.get('echo')!({ a: 1 }, ack);
    await settle();
    expect(ack).toHaveBeenCalledWith({ got: { a: 1 } });
  });

  it('emits { event, data } results, sends nothing for null, and leaves a manually handled ack alone', async () => {
    const { listeners, emitted } = bind([
      { message: 'evt', callback: () => Promise.resolve({ event: 'reply.v1', data: 7 }) },
      { message: 'none', callback: () => Promise.resolve(null) },
      { message: 'manual', callback: () => Promise.resolve('x'), isAckHandledManually: true },
    ]);
    const ack = jest.fn();
    listeners.get('evt')!(ack);
    listeners.get('none')!(ack);
    listeners.get('manual')!(ack);
    await settle();
    expect(emitted).toEqual([['reply.v1', 7]]);
    expect(ack).not.toHaveBeenCalled();
  });

  it('logs a throw or a rejection and keeps handling the event', async () => {
    let calls = 0;
    const { listeners, logged } = bind([
      {
        message: 'flaky',
        callback: () => {
          calls += 1;
          if (calls === 1) throw new Error('sync');
          if (calls === 2) return Promise.reject(new Error('async'));
          return Promise.resolve('ok');
        },
      },
    ]);
    const acks = [jest.fn(), jest.fn(), jest.fn()];
    for (const ack of acks) listeners.get('flaky')!(ack);
    await settle();
    expect((logged as Error[]).map((e) => e.message)).toEqual(['sync', 'async']);
    expect(acks[2]).toHaveBeenCalledWith('ok');
  });
});
