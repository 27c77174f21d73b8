import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply } from 'fastify';

interface DriverCause {
  originalCode?: unknown;
  originalMessage?: unknown;
}

/**
 * The PostgreSQL error behind a failed query when it is a data exception (SQLSTATE class 22: a value out of range
 * for its type, a NUL byte in text, a malformed number…): a value the request carried that the database refuses. The
 * driver adapter reports it as the error's `cause`, or Prisma as `meta.driverAdapterError.cause`. Null otherwise.
 */
export function dataException(err: unknown): { code: string; message: string } | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { cause?: DriverCause; meta?: { driverAdapterError?: { cause?: DriverCause } } };
  const cause = e.meta?.driverAdapterError?.cause ?? e.cause;
  const code = cause?.originalCode;
  if (typeof code !== 'string' || !code.startsWith('22')) return null;
  return { code, message: typeof cause?.originalMessage === 'string' ? cause.originalMessage : 'invalid value' };
}

/**
 * A request whose value PostgreSQL refuses as data (class 22) is the caller's mistake: 400 naming the problem, never
 * a 500. Validation should catch such values first (DTOs cap ids and refuse NUL bytes); this is the net under it.
 * Everything else goes to Nest's own handling.
 */
@Catch()
export class DatabaseInputErrorFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const problem = host.getType() === 'http' ? dataException(exception) : null;
    if (!problem) return super.catch(exception, host);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply
      .status(400)
      .send({ statusCode: 400, error: 'Bad Request', message: [`a value in the request is not valid: ${problem.message}`] });
  }
}
