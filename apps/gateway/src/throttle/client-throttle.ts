/**
 * One throttle check per request, shared by the global guard (Nest routes) and the gate (protected paths, which
 * never reach Nest): who the client is, one Redis call, and the IETF draft headers.
 */
import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, normalizeIp, type ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayThrottlerRecord } from './redis-throttler.storage';

export const DEVICE_ID_HEADER = 'x-device-id';
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
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

/** `dev:<device id>` for a valid X-Device-Id, else `ip:<address>` (IPv6 by its /64, as the throttler does). */
export function trackerOf(headers: Record<string, string | string[] | undefined>, ip: string | undefined): string {
  const deviceId = headers[DEVICE_ID_HEADER];
  if (typeof deviceId === 'string' && DEVICE_ID_PATTERN.test(deviceId)) return `dev:${deviceId}`;
  return `ip:${ip ? normalizeIp(ip, 64) : 'unknown'}`;
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

  /** For the gate: answers 429 itself and resolves false when the client is over its limit. */
  async admit(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const verdict = await this.check(trackerOf(request.headers, request.ip), reply);
    if (verdict.allowed) return true;
    await reply.code(429).send(tooManyRequestsBody(verdict.retryAfterSeconds));
    return false;
  }
}

export function tooManyRequestsBody(retryAfterSeconds: number) {
  return { statusCode: 429, error: 'Too Many Requests', message: `Too many requests: retry in ${retryAfterSeconds} s` };
}
