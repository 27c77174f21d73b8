/**
 * The gateway's throttle guard (global, see ThrottleModule) for Nest routes: counts each client once per request
 * across all routes, by device id when the app sends a valid `X-Device-Id`, else by IP (IPv6 by /64), and answers
 * with the IETF draft's headers instead of the `X-RateLimit-*` ones (see ClientThrottle):
 *
 *   RateLimit-Limit      requests allowed per window
 *   RateLimit-Remaining  requests left in the current window (0 when refused)
 *   RateLimit-Reset      seconds until the window (or the block) ends and the count starts again
 *   Retry-After          on 429 only: seconds until a request is allowed again
 *
 * A 429 carries all four, with a small HTML page for browsers (`Accept: text/html`) and a JSON body
 * `{ statusCode: 429, error: 'Too Many Requests', message }` for everyone else (TooManyRequestsFilter). A malformed
 * X-Device-Id gets 400 naming the header and its format. When Redis cannot be asked, the request passes without
 * RateLimit headers (the counts are unknown).
 *
 * A route of a room (a `:roomId` parameter) counts in the client's window of that room, the one the gate counts the
 * room's protected paths in (see ClientThrottle); the status route skips this guard and counts inside its admission
 * script instead.
 */
import { BadRequestException, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerRequest } from '@nestjs/throttler';
import { ROOM_ID_PATTERN } from '@tidegate/contracts';
import { ClientThrottle, trackerOf } from './client-throttle';
import type { RedisThrottlerStorage } from './redis-throttler.storage';
import { TooManyRequestsException } from './too-many-requests';

@Injectable()
export class GatewayThrottlerGuard extends ThrottlerGuard {
  private clientThrottle: ClientThrottle | undefined;

  protected override async handleRequest({ context }: ThrottlerRequest): Promise<boolean> {
    const { req, res } = this.getRequestResponse(context);
    const request = req as { headers: Record<string, string | string[] | undefined>; ip?: string; params?: Record<string, string> };
    this.clientThrottle ??= new ClientThrottle(this.storageService as RedisThrottlerStorage, {
      limit: this.throttlers[0]?.limit as number,
      ttlMs: this.throttlers[0]?.ttl as number,
      blockMs: (this.throttlers[0]?.blockDuration as number | undefined) ?? 0,
    });
    const tracker = trackerOf(request.headers, request.ip);
    if (!tracker.ok) throw new BadRequestException(tracker.message);
    const verdict = await this.clientThrottle.check(tracker.tracker, res as never, roomOf(request.params));
    if (verdict.allowed) return true;
    throw new TooManyRequestsException(verdict.retryAfterSeconds);
  }
}

function roomOf(params: Record<string, string> | undefined): string | undefined {
  const roomId = params?.roomId;
  return roomId !== undefined && ROOM_ID_PATTERN.test(roomId) ? roomId : undefined;
}
