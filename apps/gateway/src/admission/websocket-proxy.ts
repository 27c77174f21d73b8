import http, { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '@tidegate/observability';
import { requestPathProblem } from '../edge/request-path';
import { readCookie, tokenCookie } from './cookies';
import { isReserved } from './gate.hook';
import { GateService } from './gate.service';
import { OriginMonitor, originErrorKind } from './origin-monitor';
import type { GatewayRoom } from './room-registry';

/** How long the origin has to accept the connection and answer the handshake. */
const ORIGIN_TIMEOUT_MS = 10_000;
/** How long a closing socket may take to flush what is still queued for its peer. */
const FLUSH_TIMEOUT_MS = 5_000;

/** Hop-by-hop request headers (RFC 9110 §7.6.1), not forwarded; Connection and Upgrade are set again for the origin. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

type Outcome = 'proxied' | 'declined' | 'refused' | 'unavailable' | 'origin_error';

/**
 * WebSocket upgrades to protected paths. Node hands an `Upgrade` request to the HTTP server's 'upgrade' event, never
 * to Fastify, so the gate hook does not see it: this listener applies the gate instead. An upgrade passes only with
 * a live admission (the X-Tidegate-Token header or the room's token cookie, which is what a browser sends) or to a
 * suspended room; it never arrives or checks in, so it never takes a ticket. Everyone else gets 401 on the socket.
 * Admitted upgrades are tunnelled to the room's origin: the handshake with X-Forwarded-* added, then the two sockets
 * piped both ways until either side closes. A path with dot-segments is refused with 400 before anything else, as
 * the gate refuses it over HTTP (request-path.ts).
 */
@Injectable()
export class WebSocketProxy implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebSocketProxy.name);
  private readonly upgrades: Counter<'room' | 'outcome'>;
  /** Client sockets being decided or tunnelled: an open tunnel would hold the server's close, so shutdown ends them. */
  private readonly sockets = new Set<Duplex>();
  private closing = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly gate: GateService,
    private readonly originMonitor: OriginMonitor,
    metrics: MetricsRegistry,
  ) {
    this.upgrades = new Counter({
      name: 'tidegate_websocket_upgrades_total',
      help: 'WebSocket upgrades to protected paths, by room and outcome (proxied, declined by the origin, refused, unavailable, origin_error)',
      labelNames: ['room', 'outcome'],
      registers: [metrics],
    });
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getInstance<FastifyInstance>().server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onUpgrade(server, req, socket, head));
  }

  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const socket of this.sockets) socket.destroy();
  }

  private async onUpgrade(server: http.Server, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = req.url ?? '/';
    // Refused as the gate refuses it over HTTP, whichever room it would match (or none): one decision for both.
    const pathProblem = requestPathProblem(url);
    if (pathProblem) {
      socket.on('error', () => socket.destroy());
      return refuse(socket, 400, pathProblem);
    }
    const path = url.split('?', 1)[0] ?? '/';
    const room = url.startsWith('/') && !isReserved(path) ? this.gate.registry.match(path) : null;
    if (!room) {
      // Not ours. Another 'upgrade' listener may serve it; if there is none, nothing would ever answer it.
      if (server.listenerCount('upgrade') === 1) {
        socket.on('error', () => socket.destroy());
        refuse(socket, 404, 'nothing here accepts a WebSocket');
      }
      return;
    }
    socket.on('error', () => socket.destroy());
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (!isWebSocket(req)) return refuse(socket, 400, 'only WebSocket upgrades are proxied; send the request without Upgrade');
    if (this.closing) return refuse(socket, 503, 'the gateway is shutting down', { 'Retry-After': '5' });

    let session: string | null;
    try {
      session = await this.gate.admittedSession(room, { token: tokenOf(req, room.id) });
    } catch (err) {
      this.count(room, 'unavailable');
      this.logger.warn(`admission check failed in room ${room.id}: ${message(err)}`);
      return refuse(socket, 503, 'the waiting room is unavailable; retry shortly', { 'Retry-After': '5' });
    }
    if (session === null) {
      this.count(room, 'refused');
      return refuse(
        socket,
        401,
        `no live admission to ${room.name}: load the page first, then connect with its ${tokenCookie(room.id)} cookie`,
      );
    }
    if (!socket.destroyed) this.proxy(req, socket, head, room, session);
  }

  /**
   * An open WebSocket is activity: its session is renewed every half session duration while the tunnel is open, and the
   * tunnel is closed the moment the session is over (revoked, or the room changed), so the origin never holds more
   * users than total_active_users.
   */
  private keepSessionAlive(room: GatewayRoom, sessionId: string, ends: Duplex[]): void {
    if (sessionId === '') return; // suspended room: no session to keep
    const everyMs = Math.max(1000, (room.settings.sessionDurationSeconds * 1000) / 2);
    const timer = setInterval(() => {
      this.gate.renewSession(room, sessionId).then(
        (live) => {
          if (!live) for (const s of ends) s.destroy();
        },
        () => undefined, // Redis unavailable: keep the tunnel; the next round decides
      );
    }, everyMs);
    timer.unref();
    for (const s of ends) s.once('close', () => clearInterval(timer));
  }

  private proxy(req: IncomingMessage, socket: Duplex, head: Buffer, room: GatewayRoom, sessionId: string): void {
    const origin = room.origin;
    const request = (origin.protocol === 'https:' ? https : http).request({
      protocol: origin.protocol,
      hostname: origin.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: origin.port || undefined,
      method: req.method,
      // The client's path as sent, on the origin's host (never `new URL(url, origin)`: `//other.host/` would move it).
      path: req.url,
      headers: forwardedHeaders(req, origin.host),
      agent: false,
    });
    const started = performance.now();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy();
    }, ORIGIN_TIMEOUT_MS);
    // The client left before the origin answered.
    const abandon = () => request.destroy();
    socket.once('close', abandon);

    request.on('error', (err) => {
      clearTimeout(timer);
      if (socket.destroyed) return;
      this.originMonitor.failed(room.id, timedOut ? 'timeout' : originErrorKind(err));
      this.count(room, 'origin_error');
      this.logger.warn(`origin ${origin.host} failed a WebSocket upgrade: ${timedOut ? 'timed out' : err.message}`);
      refuse(socket, timedOut ? 504 : 502, timedOut ? 'the origin did not answer in time' : 'the origin did not answer');
    });

    // The origin declined to switch protocols (a 4xx, a redirect): relay its answer and close.
    request.on('response', (response) => {
      clearTimeout(timer);
      this.originMonitor.answered(room.id, response.statusCode ?? 0, performance.now() - started);
      this.count(room, 'declined');
      response.on('error', () => socket.destroy());
      socket.once('finish', () => socket.destroy());
      socket.write(statusAndHeaders(response, ['connection', 'keep-alive', 'transfer-encoding']) + 'Connection: close\r\n\r\n');
      response.pipe(socket);
    });

    request.on('upgrade', (response, originSocket, originHead) => {
      clearTimeout(timer);
      socket.off('close', abandon);
      originSocket.on('error', () => originSocket.destroy());
      if (socket.destroyed) return originSocket.destroy();
      this.originMonitor.answered(room.id, response.statusCode ?? 101, performance.now() - started);
      this.count(room, 'proxied');
      for (const s of [socket, originSocket]) {
        if (s instanceof Socket) {
          s.setNoDelay(true);
          s.setTimeout(0);
        }
      }
      socket.write(statusAndHeaders(response, []) + '\r\n');
      // Bytes either side sent right behind its handshake go first.
      if (originHead.length > 0) originSocket.unshift(originHead);
      if (head.length > 0) socket.unshift(head);
      // A clean end is passed on by pipe; a side that closes (or fails) takes the other with it once flushed.
      originSocket.once('close', () => closeSoon(socket));
      socket.once('close', () => closeSoon(originSocket));
      originSocket.pipe(socket);
      socket.pipe(originSocket);
      this.keepSessionAlive(room, sessionId, [socket, originSocket]);
    });

    request.end();
  }

  private count(room: GatewayRoom, outcome: Outcome): void {
    this.upgrades.inc({ room: room.id, outcome });
  }
}

function isWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').split(',').some((p) => p.trim().toLowerCase() === 'websocket');
}

/** The admission token as the gate reads it: the X-Tidegate-Token header, else the room's token cookie. */
function tokenOf(req: IncomingMessage, roomId: string): string | undefined {
  const header = req.headers['x-tidegate-token'];
  if (typeof header === 'string' && header !== '') return header;
  return readCookie(req.headers.cookie, tokenCookie(roomId));
}

/** The client's headers for the origin: hop-by-hop ones dropped, X-Forwarded-* added as the HTTP proxy adds them. */
function forwardedHeaders(req: IncomingMessage, originHost: string): OutgoingHttpHeaders {
  const listed = new Set((req.headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()));
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !listed.has(name)) headers[name] = value;
  }
  const remote = req.socket.remoteAddress ?? '';
  const forwardedFor = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${remote}` : remote;
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = (req.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http';
  headers.host = originHost;
  headers.connection = 'Upgrade';
  headers.upgrade = req.headers.upgrade;
  return headers;
}

/** A response's status line and headers (as the origin spelled them), minus `skip`; ends with one CRLF. */
function statusAndHeaders(response: IncomingMessage, skip: string[]): string {
  const lines = [`HTTP/1.1 ${response.statusCode ?? 502} ${response.statusMessage ?? ''}`];
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
    const name = response.rawHeaders[i]!;
    if (!skip.includes(name.toLowerCase())) lines.push(`${name}: ${response.rawHeaders[i + 1]!}`);
  }
  return lines.join('\r\n') + '\r\n';
}

/** Answers an upgrade with a plain HTTP response (JSON, like the gate's errors) and closes the socket. */
function refuse(socket: Duplex, status: number, reason: string, extra: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const error = STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ statusCode: status, error, message: reason });
  const head = [
    `HTTP/1.1 ${status} ${error}`,
    'Connection: close',
    'Cache-Control: no-store',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`),
  ];
  closeSoon(socket, `${head.join('\r\n')}\r\n\r\n${body}`);
}

/** Ends a socket after flushing what is queued (and `last`), then destroys it; a peer that stops reading gets 5 s. */
function closeSoon(socket: Duplex, last?: string): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  setTimeout(() => socket.destroy(), FLUSH_TIMEOUT_MS).unref();
  if (last === undefined) socket.end();
  else socket.end(last);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
