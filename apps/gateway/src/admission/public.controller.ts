import { Controller, Get, Header, HttpCode, Inject, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdmissionTokens } from '@tidegate/admission';
import { ROOM_ID_PATTERN } from '@tidegate/contracts';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '@tidegate/observability';
import { API_SECURITY_HEADERS } from '../edge/security-headers';
import { serializeCookie, ticketCookie, tokenCookie } from './cookies';
import { credentialsOf, GATE_OPTIONS, GateHook, type GateOptions } from './gate.hook';
import { GateService } from './gate.service';
import type { GatewayRoom } from './room-registry';

@ApiTags('waiting room')
@Controller()
export class PublicController {
  constructor(
    private readonly gate: GateService,
    private readonly hook: GateHook,
    private readonly tokens: AdmissionTokens,
    @Inject(GATE_OPTIONS) private readonly options: GateOptions,
  ) {}

  @Get('.well-known/jwks.json')
  @Public()
  @Header('cache-control', 'public, max-age=300')
  @ApiOperation({ summary: 'Public keys that verify admission tokens (JWKS, ES256)' })
  jwks() {
    return this.tokens.jwks();
  }

  @Get('rooms/:roomId/status')
  @Public()
  // Counted in the client's window of the room by the admission script itself (one round trip), not by the guard.
  @SkipThrottle()
  @ApiOperation({
    summary: 'Check in with a ticket: your place in line, or your admission token once it is your turn',
    description:
      'Send the ticket as X-Tidegate-Ticket (apps) or the tidegate_ticket_<room> cookie (browsers); without either, 400. ' +
      'A ticket that is no longer valid (expired, skipped after going silent) joins the line again at its end; a valid ' +
      'admission token (X-Tidegate-Token) stays admitted. Check in every refreshIntervalSeconds to keep your place.',
  })
  @ApiParam({ name: 'roomId', example: 'demo' })
  @ApiHeader({ name: 'X-Tidegate-Ticket', required: false })
  @ApiOkResponse({
    description: 'cfWaitingRoom-style object: inWaitingRoom, position, aheadOfYou, waitTime, ticket… or inWaitingRoom=false with the token',
  })
  async status(@Param('roomId') roomId: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    // The gate's early hook answers this route for every room it knows (without Nest's middleware): this handler
    // answers what reaches Nest, i.e. a room that is unknown (404) or loaded since (the same answer).
    await this.hook.status(request, reply, this.room(roomId));
  }

  @Post('rooms/:roomId/leave')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Leave the line (with a ticket) or end your session (with a token); the people behind you move up at once',
  })
  @ApiParam({ name: 'roomId', example: 'demo' })
  @ApiHeader({ name: 'X-Tidegate-Ticket', required: false })
  @ApiHeader({ name: 'X-Tidegate-Token', required: false })
  async leave(@Param('roomId') roomId: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const room = this.room(roomId);
    reply.headers(API_SECURITY_HEADERS);
    let result: Awaited<ReturnType<GateService['leave']>>;
    try {
      result = await this.gate.leave(room, credentialsOf(request, room.id));
    } catch (err) {
      await this.hook.unavailable(reply, room.id, err);
      return;
    }
    if (!result.recognised) {
      await reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'send a valid ticket or admission token of this room' });
      return;
    }
    reply.header('set-cookie', [
      serializeCookie(tokenCookie(room.id), '', { maxAgeSeconds: 0, secure: this.options.cookieSecure }),
      serializeCookie(ticketCookie(room.id), '', { maxAgeSeconds: 0, secure: this.options.cookieSecure }),
    ]);
    await reply.send({ left: result.ticketLeft, sessionEnded: result.sessionEnded });
  }

  private room(roomId: string): GatewayRoom {
    if (!ROOM_ID_PATTERN.test(roomId)) throw new NotFoundException(`no room ${JSON.stringify(roomId.slice(0, 70))}`);
    const room = this.gate.registry.get(roomId);
    if (!room) throw new NotFoundException(`no room ${roomId}`);
    return room;
  }
}
