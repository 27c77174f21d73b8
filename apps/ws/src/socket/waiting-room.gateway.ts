import { Logger } from '@nestjs/common';
import { WebSocketGateway, WebSocketServer, type OnGatewayInit } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, HandshakeAuth, HandshakeRefusal, ServerToClientEvents } from '@tidegate/contracts';

export type WaitingRoomServer = Server<ClientToServerEvents, ServerToClientEvents>;

/** A handshake error whose `data.reason` tells the client why it was refused. */
export function refusal(reason: HandshakeRefusal, message: string): Error & { data: { reason: HandshakeRefusal } } {
  return Object.assign(new Error(message), { data: { reason } });
}

/**
 * The waiting room's socket endpoint. Every socket must present a ticket in its handshake `auth`. Ticket
 * verification arrives with the waiting room (issue 5); until a ticket issuer exists, every ticket is refused as
 * invalid, so nobody can join a room without one.
 */
@WebSocketGateway({ path: '/socket.io' })
export class WaitingRoomGateway implements OnGatewayInit {
  private readonly logger = new Logger(WaitingRoomGateway.name);

  @WebSocketServer()
  server!: WaitingRoomServer;

  afterInit(server: WaitingRoomServer): void {
    server.use((socket: Socket, next) => {
      const auth = socket.handshake.auth as HandshakeAuth;
      if (typeof auth.ticket !== 'string' || auth.ticket === '') {
        return next(refusal('ticket_missing', 'a ticket is required: pass { auth: { ticket } } when connecting'));
      }
      return next(refusal('ticket_invalid', 'this ticket was not issued by this waiting room'));
    });
    this.logger.log('socket.io ready');
  }
}
