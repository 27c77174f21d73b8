import { Catch, Logger, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { databaseUnavailable, dataException } from './database-errors';

/** What a client is told to wait before retrying while PostgreSQL is out of reach. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
const WARN_EVERY_MS = 10_000;

/**
 * Database errors that are not the server's fault, on every route (and in guards):
 * - PostgreSQL out of reach (refused or lost connection, timeout, shutting down): 503 `database unavailable` with
 *   `Retry-After`, so a client or a load balancer retries instead of reporting a crash;
 * - a value PostgreSQL refuses as data (class 22: out of range, a NUL byte): 400 naming the problem. Validation should
 *   catch such values first (DTOs cap ids and refuse NUL bytes); this is the net under it.
 * Everything else goes to Nest's own handling.
 */
@Catch()
export class DatabaseErrorFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('Database');
  private lastWarned = 0;

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return super.catch(exception, host);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (databaseUnavailable(exception)) {
      this.warn(exception);
      void reply
        .status(503)
        .header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS))
        .send({
          statusCode: 503,
          error: 'Service Unavailable',
          message: `database unavailable: PostgreSQL cannot be reached right now; retry in ${DATABASE_RETRY_AFTER_SECONDS} s`,
        });
      return;
    }
    const problem = dataException(exception);
    if (!problem) return super.catch(exception, host);
    void reply
      .status(400)
      .send({ statusCode: 400, error: 'Bad Request', message: [`a value in the request is not valid: ${problem.message}`] });
  }

  /** One warning per 10 s during an outage, not one per request. */
  private warn(exception: unknown): void {
    const now = Date.now();
    if (now - this.lastWarned < WARN_EVERY_MS) return;
    this.lastWarned = now;
    const text = exception instanceof Error ? exception.message.split('\n').filter(Boolean).pop() : String(exception);
    this.logger.warn(`PostgreSQL unavailable, answering 503: ${text}`);
  }
}
