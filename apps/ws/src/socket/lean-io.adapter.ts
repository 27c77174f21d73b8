import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { defer, type Observable } from 'rxjs';
import type { Socket } from 'socket.io';

/**
 * Nest's socket.io adapter with message handlers bound without a per-socket RxJS pipeline. Nest's own binding builds,
 * for every socket and every @SubscribeMessage, an observable chain (fromEvent → mergeMap → takeUntil(disconnect$),
 * plus a shared disconnect$): about 60 objects and 6 KB of heap per socket on the ws app, half of what a bare
 * socket.io socket costs (docs/benchmarks.md, "ws"). Here each handler is one `socket.on` listener, and the RxJS
 * work happens per message instead. Same contract as Nest's: the handler's result (value, promise or observable;
 * null/undefined sends nothing) goes back as `{ event, data }` → `socket.emit`, else to the client's ack unless the
 * handler takes the ack itself; a throw or rejection is logged, never crashes the process nor silences the event.
 * socket.io calls no listener of a disconnected socket, which is what Nest's takeUntil(disconnect$) ensured.
 */
export class LeanIoAdapter extends IoAdapter {
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(String(message), (...args: unknown[]) => {
        // As RxJS fromEvent passes them: one argument as is, several as an array.
        const { data, ack } = this.mapPayload(args.length > 1 ? args : args[0]) as { data: unknown; ack?: unknown };
        defer(() => transform(callback(data, ack))).subscribe({
          next: (response) => {
            if (response === null || response === undefined) return;
            const r = response as { event?: string; data?: unknown };
            if (r.event) socket.emit(r.event, r.data);
            else if (!isAckHandledManually && typeof ack === 'function') (ack as (value: unknown) => void)(response);
          },
          error: (err: unknown) => this.logger.error(err),
        });
      });
    }
  }
}
