import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendTooManyRequests, TooManyRequestsException } from './too-many-requests';

/** The guard's 429 on Nest routes: an HTML page for browsers, JSON for apps (the gate answers its own 429s). */
@Catch(TooManyRequestsException)
export class TooManyRequestsFilter implements ExceptionFilter<TooManyRequestsException> {
  catch(exception: TooManyRequestsException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    void sendTooManyRequests(http.getResponse<FastifyReply>(), request.headers.accept, exception.retryAfterSeconds);
  }
}
