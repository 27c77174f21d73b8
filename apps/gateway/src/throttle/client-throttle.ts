/**
 * One throttle per client, shared by the global guard (Nest routes) and the gate (protected paths, which never reach
 * Nest): who the client is, where it is counted, and the IETF draft headers.
 *
 * Where: a request to a room (a protected path, the room's status or leave route) counts in the client's window of
 * that room, a key in the room's Cluster slot, so the gate counts it inside the admission script (one round trip per
 * request; see GateService). Any other Nest route counts in the client's own window. A client's limit therefore
 * applies per room: one hammering two rooms gets the limit in each.
 */
import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, normalizeIp } from '@nestjs/throttler';
import type { ClientCount, ClientWindow } from '@tidegate/admission';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_SECURITY_HEADERS } from '../edge/security-headers';
import { deviceIdOf } from './device-id';
import { toSeconds, type RedisThrottlerStorage } from './redis-throttler.storage';
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
    @InjectThrottlerStorage() private readonly storage: RedisThrottlerStorage,
    private readonly limits: ThrottleLimits,
  ) {}

  /**
   * Counts a request of a Nest route (in `roomId`'s window when the route belongs to a room) and sets RateLimit-*
   * (and Retry-After when refused). Fails open when Redis is down.
   */
  async check(tracker: string, reply: HeaderSink, roomId?: string): Promise<Verdict> {
    const { limit, ttlMs, blockMs } = this.limits;
    const record = roomId
      ? await this.storage.incrementInRoom(roomId, tracker, ttlMs, limit, blockMs)
      : await this.storage.increment(tracker, ttlMs, limit, blockMs, GATEWAY_THROTTLER);
    if (record.failedOpen) return { allowed: true };
    return this.answer(reply, { hits: record.totalHits, blocked: record.isBlocked, resetSeconds: record.timeToExpire });
  }

  /** The client's window in a room, for an admission script to count the request in (see GateService). */
  windowIn(roomId: string, tracker: string): ClientWindow {
    const { limit, ttlMs, blockMs } = this.limits;
    return { key: this.storage.roomClientKey(roomId, tracker), windowMs: ttlMs, limit, blockMs };
  }

  /** The headers for a request an admission script counted; the verdict says whether it was refused. */
  counted(reply: HeaderSink, count: ClientCount): Verdict {
    return this.answer(reply, { hits: count.hits, blocked: count.blocked, resetSeconds: toSeconds(count.resetMs) });
  }

  /**
   * Who the client is, for the gate and the room routes; answers 400 itself (and returns null) for a malformed
   * X-Device-Id. Synchronous: no promise on every gated request's way (issue #12).
   */
  trackerOrRefuse(request: FastifyRequest, reply: FastifyReply): string | null {
    const tracker = trackerOf(request.headers, request.ip);
    if (tracker.ok) return tracker.tracker;
    void reply.code(400).headers(API_SECURITY_HEADERS).send({ statusCode: 400, error: 'Bad Request', message: tracker.message });
    return null;
  }

  /** Answers 429 (an HTML page for browsers, JSON for apps) for a request refused by its count. */
  async refuse(request: FastifyRequest, reply: FastifyReply, verdict: Verdict & { allowed: false }): Promise<void> {
    await sendTooManyRequests(reply, request.headers.accept, verdict.retryAfterSeconds);
  }

  private answer(reply: HeaderSink, count: { hits: number; blocked: boolean; resetSeconds: number }): Verdict {
    const { limit } = this.limits;
    reply.header('RateLimit-Limit', limit);
    reply.header('RateLimit-Remaining', count.blocked ? 0 : Math.max(0, limit - count.hits));
    reply.header('RateLimit-Reset', count.resetSeconds);
    if (!count.blocked) return { allowed: true };
    reply.header('Retry-After', count.resetSeconds);
    return { allowed: false, retryAfterSeconds: count.resetSeconds };
  }
}
