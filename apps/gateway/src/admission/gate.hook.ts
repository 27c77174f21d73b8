import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { ROOM_ID_PATTERN } from '@tidegate/contracts';
import { MetricsRegistry } from '@tidegate/observability';
import { setEarlyRequestHook } from '@tidegate/platform';
import { pathOf, requestPathProblem } from '../edge/request-path';
import { API_SECURITY_HEADERS, waitingPageSecurityHeaders, type SecurityHeaders } from '../edge/security-headers';
import { ClientThrottle } from '../throttle/client-throttle';
import { sendTooManyRequests } from '../throttle/too-many-requests';
import { readCookie, serializeCookie, ticketCookie, tokenCookie } from './cookies';
import { GateService, type Credentials, type GateDecision } from './gate.service';
import { OriginMonitor, originErrorKind } from './origin-monitor';
import { Releaser } from './releaser';
import type { GatewayRoom } from './room-registry';
import { waitingJsonText, waitingPage } from './waiting-response';
import { presentationOf } from './wave-attribution';

export interface GateOptions {
  cookieSecure: boolean;
  graceSeconds: number;
  socketUrl: string | null;
}
export const GATE_OPTIONS = Symbol('GATE_OPTIONS');

/** Paths the gateway answers itself; no room can claim them. */
const RESERVED = ['/health/', '/metrics', '/docs', '/.well-known/', '/rooms/', '/_tidegate/'];
const RESERVED_BARE = RESERVED.map((p) => p.replace(/\/$/, ''));
export const isReserved = (path: string) => RESERVED.some((p, i) => path === RESERVED_BARE[i] || path.startsWith(p));

/** The content type Fastify gives a JSON body it serialised. */
const JSON_TYPE = 'application/json; charset=utf-8';

/** `GET /rooms/:roomId/status` (PublicController documents it): answered by the gate's hook too, see `status`. */
const STATUS_PATH = /^\/rooms\/([^/]+)\/status$/;

/**
 * The origin URL for a request: always the room's origin host, whatever the request line says. (`new URL(url, base)`
 * would let a request for `//elsewhere/x` reach another host: an open proxy.)
 */
export function originTarget(origin: URL, requestUrl: string): string {
  return `${origin.origin}${requestUrl.startsWith('/') ? requestUrl : `/${requestUrl}`}`;
}

export function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

export function credentialsOf(request: FastifyRequest, roomId: string): Credentials {
  const header = (name: string) => {
    const v = request.headers[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  return {
    token: header('x-tidegate-token') ?? readCookie(request.headers.cookie, tokenCookie(roomId)),
    ticket: header('x-tidegate-ticket') ?? readCookie(request.headers.cookie, ticketCookie(roomId)),
    ...presentationOf(request),
  };
}

/** Request headers never passed to the origin: `Expect` was answered here (Node sends 100 Continue itself). */
const NOT_FORWARDED = ['expect'];

/**
 * The gate, as a Fastify onRequest hook in front of Nest's routing: a path with dot-segments is refused with 400 (for
 * every path: see request-path.ts); requests to a protected path are decided here (one admission script, which
 * counts the client's request in its throttle window first) and either proxied to the room's origin, streaming both ways, or answered with the waiting room. Nothing
 * else runs on that path: no Nest pipeline, no body parsing.
 */
@Injectable()
export class GateHook implements OnApplicationBootstrap {
  private readonly logger = new Logger(GateHook.name);
  private readonly decisions: Counter<'room' | 'decision'>;
  private readonly pageHeaders: SecurityHeaders;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly gate: GateService,
    private readonly releaser: Releaser,
    @Inject(GATE_OPTIONS) private readonly options: GateOptions,
    private readonly throttle: ClientThrottle,
    metrics: MetricsRegistry,
    private readonly originMonitor: OriginMonitor,
  ) {
    this.decisions = new Counter({
      name: 'tidegate_gate_decisions_total',
      help: 'Requests to protected paths, by room and decision (pass, wait, rejected, unavailable, error)',
      labelNames: ['room', 'decision'],
      registers: [metrics],
    });
    this.pageHeaders = waitingPageSecurityHeaders(options.socketUrl);
  }

  async onApplicationBootstrap(): Promise<void> {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    await fastify.register(replyFrom, { undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 } });
    // Ahead of Nest's middleware (the request logger's context, middie): a gated request needs none of it.
    setEarlyRequestHook(fastify, (request, reply) => this.onRequest(request, reply));
  }

  /** Undefined (synchronously, no promise) for a request Nest answers; else the gate's answer. */
  private onRequest(request: FastifyRequest, reply: FastifyReply): Promise<true> | undefined {
    const pathProblem = requestPathProblem(request.url);
    if (pathProblem) {
      void reply.code(400).headers(API_SECURITY_HEADERS).send({ statusCode: 400, error: 'Bad Request', message: pathProblem });
      return Promise.resolve(true);
    }
    const path = pathOf(request.url);
    if (isReserved(path)) {
      // A waiting client's poll, the most frequent request of a waiting room: answered here, without Nest's
      // middleware and routing. An unknown or malformed room id goes on to Nest, which answers 404.
      const roomId = request.method === 'GET' ? STATUS_PATH.exec(path)?.[1] : undefined;
      const room = roomId && ROOM_ID_PATTERN.test(roomId) ? this.gate.registry.get(roomId) : null;
      return room ? this.status(request, reply, room).then(() => true as const) : undefined;
    }
    const room = this.gate.registry.match(path);
    if (!room) return undefined; // Nest answers 404
    return this.gated(request, reply, room);
  }

  /** Always answers (resolves true once it has, or has started streaming the origin's answer). */
  private async gated(request: FastifyRequest, reply: FastifyReply, room: GatewayRoom): Promise<true> {
    const tracker = this.throttle.trackerOrRefuse(request, reply);
    if (tracker === null) return true;
    let decision: GateDecision;
    try {
      // Counted in the client's window of this room by the admission script itself: one round trip.
      decision = await this.gate.decide(room, credentialsOf(request, room.id), this.throttle.windowIn(room.id, tracker));
    } catch (err) {
      void this.unavailable(reply, room.id, err);
      return true;
    }
    this.decisions.inc({ room: room.id, decision: decision.kind });
    void this.respond(request, reply, decision);
    return true;
  }

  /**
   * A check-in with a ticket (or a token) at the room's status route: the place in line, or the admission token once
   * it is the holder's turn; 400 without either (a status check must not take a place in line). Counted in the
   * client's window of the room by the admission script itself (one round trip). PublicController's route (where it
   * is documented) and the early hook both answer with this.
   */
  async status(request: FastifyRequest, reply: FastifyReply, room: GatewayRoom): Promise<void> {
    reply.headers(API_SECURITY_HEADERS);
    const tracker = this.throttle.trackerOrRefuse(request, reply);
    if (tracker === null) return;
    const credentials = credentialsOf(request, room.id);
    if (!credentials.ticket && !credentials.token) {
      await reply.code(400).send({
        statusCode: 400,
        error: 'Bad Request',
        message: 'send your ticket (X-Tidegate-Ticket) or admission token (X-Tidegate-Token)',
      });
      return;
    }
    let decision: GateDecision;
    try {
      decision = await this.gate.decide(room, credentials, this.throttle.windowIn(room.id, tracker));
    } catch (err) {
      await this.unavailable(reply, room.id, err);
      return;
    }
    if (decision.kind === 'pass') {
      if (decision.count) this.throttle.counted(reply, decision.count);
      const token = decision.token;
      if (token) {
        reply.header('set-cookie', [
          serializeCookie(tokenCookie(room.id), token.value, {
            maxAgeSeconds: (token.expiresAt.getTime() - Date.now()) / 1000,
            secure: this.options.cookieSecure,
          }),
          serializeCookie(ticketCookie(room.id), '', { maxAgeSeconds: 0, secure: this.options.cookieSecure }),
        ]);
      }
      await reply.header('cache-control', 'no-store').send({
        inWaitingRoom: false,
        roomId: room.id,
        token: token?.value ?? null,
        expiresAt: token?.expiresAt.toISOString() ?? null,
      });
      return;
    }
    request.headers.accept = 'application/json';
    await this.respond(request, reply, decision);
  }

  /**
   * The answer when the admission store failed (Redis unreachable): 503 with Retry-After, never a 500, so a client
   * keeps its ticket or token and tries again. Shared with the status and leave routes.
   */
  unavailable(reply: FastifyReply, roomId: string, err: unknown): FastifyReply {
    this.decisions.inc({ room: roomId, decision: 'error' });
    this.logger.warn(`admission failed in room ${roomId}: ${err instanceof Error ? err.message : String(err)}`);
    return reply
      .code(503)
      .headers(API_SECURITY_HEADERS)
      .header('retry-after', '5')
      .send({ statusCode: 503, error: 'Service Unavailable', message: 'the waiting room is unavailable; retry shortly' });
  }

  /**
   * Sends the decision: proxy, waiting room (JSON or page), 429 for a client over its limit, or 503; with the
   * RateLimit-* headers when the request was counted. Shared with the status endpoint for JSON.
   */
  respond(request: FastifyRequest, reply: FastifyReply, decision: GateDecision): FastifyReply {
    const { room } = decision;
    const verdict = decision.count ? this.throttle.counted(reply, decision.count) : null;
    switch (decision.kind) {
      case 'throttled':
        return sendTooManyRequests(
          reply,
          request.headers.accept,
          verdict?.allowed === false ? verdict.retryAfterSeconds : 1,
        ) as FastifyReply;
      case 'pass': {
        if (decision.token) {
          const maxAge = (decision.token.expiresAt.getTime() - Date.now()) / 1000;
          reply.header('set-cookie', [
            serializeCookie(tokenCookie(room.id), decision.token.value, { maxAgeSeconds: maxAge, secure: this.options.cookieSecure }),
            serializeCookie(ticketCookie(room.id), '', { maxAgeSeconds: 0, secure: this.options.cookieSecure }),
          ]);
          reply.header('x-tidegate-token', decision.token.value);
        }
        return this.proxy(request, reply, room.id, room.origin);
      }
      case 'wait': {
        if (decision.newTicket) {
          reply.header(
            'set-cookie',
            serializeCookie(ticketCookie(room.id), decision.ticket, { maxAgeSeconds: 86_400, secure: this.options.cookieSecure }),
          );
        }
        reply.header('cache-control', 'no-store');
        if (wantsJson(request)) {
          reply.headers(API_SECURITY_HEADERS);
          const snapshot = this.releaser.snapshot(room.id);
          // The JSON as text (a per-room template): what Fastify's serializer would write for waitingJson's object.
          return reply.type(JSON_TYPE).send(
            waitingJsonText({
              room,
              ticket: decision.ticket,
              position: decision.position,
              snapshot,
              graceSeconds: this.options.graceSeconds,
              socketUrl: this.options.socketUrl,
            }),
          );
        }
        return reply.headers(this.pageHeaders).type('text/html; charset=utf-8').send(waitingPage(room));
      }
      case 'rejected':
        return reply
          .code(503)
          .headers(API_SECURITY_HEADERS)
          .header('retry-after', '30')
          .header('cache-control', 'no-store')
          .send({
            statusCode: 503,
            error: 'Service Unavailable',
            message: `${room.name} is full right now; please try again in a little while`,
          });
      case 'unavailable':
        return reply
          .code(503)
          .headers(API_SECURITY_HEADERS)
          .header('retry-after', '5')
          .send({ statusCode: 503, error: 'Service Unavailable', message: decision.reason });
    }
  }

  /** Streams the request to the origin and its answer back, measuring the origin (OriginMonitor) on the way. */
  private proxy(request: FastifyRequest, reply: FastifyReply, roomId: string, origin: URL): FastifyReply {
    const started = performance.now();
    // The body is still the raw stream (this runs before Fastify parses it): hand it to reply-from to stream on.
    if (request.method !== 'GET' && request.method !== 'HEAD') (request as { body?: unknown }).body = request.raw;
    // The path only: reply-from appends the query exactly as it came (it would refuse a query holding "/.." otherwise).
    return reply.from(originTarget(origin, pathOf(request.url)), {
      rewriteRequestHeaders: (req, headers) => {
        const forwardedFor = headers['x-forwarded-for'];
        const kept = { ...headers };
        for (const name of NOT_FORWARDED) delete kept[name];
        return {
          ...kept,
          'x-forwarded-for': forwardedFor ? `${String(forwardedFor)}, ${req.socket.remoteAddress ?? ''}` : (req.socket.remoteAddress ?? ''),
          'x-forwarded-host': req.headers.host ?? '',
          'x-forwarded-proto': req.protocol,
        };
      },
      onResponse: (_req, r, res) => {
        this.originMonitor.answered(roomId, res.statusCode, performance.now() - started);
        void r.send(res.stream);
      },
      onError: (r, { error }) => {
        this.originMonitor.failed(roomId, originErrorKind(error));
        this.logger.warn(`origin ${origin.host} failed: ${error.message}`);
        void r.code(502).send({ statusCode: 502, error: 'Bad Gateway', message: 'the origin did not answer' });
      },
    });
  }
}
