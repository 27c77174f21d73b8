/**
 * One throttle check per request, shared by the global guard (Nest routes) and the gate (protected paths, which
 * never reach Nest): who the client is, one Redis call, and the IETF draft headers.
 */
import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, normalizeIp, type ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_SECURITY_HEADERS } from '../edge/security-headers';
import { deviceIdOf } from './device-id';
import type { GatewayThrottlerRecord } from './redis-throttler.storage';
import { sendTooManyRequests } from './too-many-requests';

/** The gateway's one throttler: `default`, so a plain `@SkipThrottle()` skips it. It is part of the Redis key. */
export const GATEWAY_THROTTLER = 'default';

export interface ThrottleLimits {
  limit: number;
  ttlMs: number;
  blockMs: number;
}
export const THROTTLE_LIMITS = Symbol('THROTTLE_LIMITS');

interface HeaderSink {
  header(name: string, value: string | number): unknown;
}

export type Verdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Who is counted: `dev:<device id>` for a valid X-Device-Id, else `ip:<address>` (IPv6 by its /64, as the
 *  throttler does); or why the request is refused (a malformed X-Device-Id: see device-id.ts). */
export type Tracker = { ok: true; tracker: string } | { ok: false; message: string };

export function trackerOf(headers: Record<string, string | string[] | undefined>, ip: string | undefined): Tracker {
  const deviceId = deviceIdOf(headers);
  if (deviceId.kind === 'malformed') return { ok: false, message: deviceId.message };
  if (deviceId.kind === 'valid') return { ok: true, tracker: `dev:${deviceId.id}` };
  return { ok: true, tracker: `ip:${ip ? normalizeIp(ip, 64) : 'unknown'}` };
}

@Injectable()
export class ClientThrottle {
  constructor(
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
    private readonly limits: ThrottleLimits,
  ) {}

  /** Counts the request and sets RateLimit-* (and Retry-After when refused). Fails open when Redis is down. */
  async check(tracker: string, reply: HeaderSink): Promise<Verdict> {
    const { limit, ttlMs, blockMs } = this.limits;
    const record = (await this.storage.increment(tracker, ttlMs, limit, blockMs, GATEWAY_THROTTLER)) as GatewayThrottlerRecord;
    if (record.failedOpen) return { allowed: true };
    reply.header('RateLimit-Limit', limit);
    reply.header('RateLimit-Remaining', record.isBlocked ? 0 : Math.max(0, limit - record.totalHits));
    reply.header('RateLimit-Reset', record.timeToExpire);
    if (!record.isBlocked) return { allowed: true };
    reply.header('Retry-After', record.timeToBlockExpire);
    return { allowed: false, retryAfterSeconds: record.timeToBlockExpire };
  }

  /**
   * For the gate: answers itself and resolves false when the request may not go on: 400 for a malformed X-Device-Id,
   * 429 (an HTML page for browsers, JSON for apps) when the client is over its limit.
   */
  async admit(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const tracker = trackerOf(request.headers, request.ip);
    if (!tracker.ok) {
      await reply.code(400).headers(API_SECURITY_HEADERS).send({ statusCode: 400, error: 'Bad Request', message: tracker.message });
      return false;
    }
    const verdict = await this.check(tracker.tracker, reply);
    if (verdict.allowed) return true;
    await sendTooManyRequests(reply, request.headers.accept, verdict.retryAfterSeconds);
    return false;
  }
}
