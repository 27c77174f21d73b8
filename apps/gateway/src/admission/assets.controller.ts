import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Controller,
  Get,
  Header,
  Injectable,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@tidegate/observability';
import { API_SECURITY_HEADERS } from '../edge/security-headers';
import { WAITING_ROOM_CSS, WAITING_ROOM_JS } from './waiting-room.assets';

/** socket.io's browser client, served from here (no CDN): read once at boot. */
const SOCKET_IO_CLIENT = readFileSync(
  path.join(path.dirname(require.resolve('socket.io-client/package.json')), 'dist', 'socket.io.min.js'),
  'utf8',
);

/** nosniff (a script is run only as a script), no referrer, and a CSP that lets nothing load or frame them. */
@Injectable()
class SecurityHeadersInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    void context.switchToHttp().getResponse<FastifyReply>().headers(API_SECURITY_HEADERS);
    return next.handle();
  }
}

/** The waiting page's script and styles: static and the same for every room, so caches may keep them. */
@ApiExcludeController()
@Controller('_tidegate')
@UseInterceptors(SecurityHeadersInterceptor)
export class AssetsController {
  @Get('waiting-room.js')
  @Public()
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  script(): string {
    return WAITING_ROOM_JS;
  }

  @Get('socket.io.min.js')
  @Public()
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=86400')
  socketIoClient(): string {
    return SOCKET_IO_CLIENT;
  }

  @Get('waiting-room.css')
  @Public()
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  styles(): string {
    return WAITING_ROOM_CSS;
  }
}
