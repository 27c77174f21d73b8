/**
 * Loopback servers for the fakes: HTTP/2 (cleartext h2c, or TLS with ALPN h2) and HTTP/1.1 (http or https), on a
 * free port of 127.0.0.1, with every request body read in full before the handler sees it, connection counts, and
 * a close() that ends whatever is still open.
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { type AddressInfo, type Socket } from 'node:net';
import { type TlsCertificate } from './tls';

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON. */
  body?: string | Buffer | object;
}

/** What a handler returns: an answer, or `hang` to keep the request open without answering (until the client gives up). */
export type FakeAnswer = FakeResponse | 'hang';

export interface FakeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Which connection it came on (1 for the first connection the server accepted). */
  connection: number;
}

export type FakeHandler = (request: FakeRequest) => FakeAnswer | Promise<FakeAnswer>;

function encode(response: FakeResponse): { headers: Record<string, string>; body: Buffer } {
  const headers = { ...response.headers };
  if (response.body === undefined) return { headers, body: Buffer.alloc(0) };
  if (typeof response.body === 'string' || Buffer.isBuffer(response.body)) return { headers, body: Buffer.from(response.body) };
  headers['content-type'] ??= 'application/json';
  return { headers, body: Buffer.from(JSON.stringify(response.body)) };
}

export interface FakeServer {
  /** `http://127.0.0.1:port` or `https://127.0.0.1:port`. */
  readonly origin: string;
  /** Connections (HTTP/2 sessions, or TCP connections for HTTP/1.1) accepted so far. */
  readonly connections: number;
  /** The most requests that were open at once. */
  readonly peakConcurrentRequests: number;
  /** HTTP/2 only: sends GOAWAY on every open session (clients must open a new one for later requests). */
  goAway(): void;
  close(): Promise<void>;
}

async function listen(server: http.Server | http2.Http2Server | http2.Http2SecureServer | https.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export interface Http2ServerOptions {
  tls?: TlsCertificate;
  /** The SETTINGS_MAX_CONCURRENT_STREAMS the server announces (default 100, like Google's front ends). */
  maxConcurrentStreams?: number;
}

export async function startHttp2Server(handler: FakeHandler, options: Http2ServerOptions = {}): Promise<FakeServer> {
  const { tls } = options;
  const settings = { maxConcurrentStreams: options.maxConcurrentStreams ?? 100 };
  const server = tls ? http2.createSecureServer({ key: tls.key, cert: tls.cert, settings }) : http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  const sessionNumbers = new WeakMap<http2.Http2Session, number>();
  let connections = 0;
  let open = 0;
  let peak = 0;
  server.on('session', (session) => {
    connections++;
    sessions.add(session);
    sessionNumbers.set(session, connections);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    open++;
    peak = Math.max(peak, open);
    stream.on('close', () => open--);
    stream.on('error', () => undefined);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const { ':method': method, ':path': path, ...rest } = headers;
      const request: FakeRequest = {
        method: String(method),
        path: String(path),
        headers: rest,
        body: Buffer.concat(chunks),
        connection: sessionNumbers.get(stream.session!) ?? 0,
      };
      void Promise.resolve(handler(request)).then(
        (answer) => {
          if (answer === 'hang' || stream.destroyed || stream.closed) return;
          const { headers: responseHeaders, body } = encode(answer);
          stream.respond({ ':status': answer.status, ...responseHeaders });
          stream.end(body);
        },
        () => {
          if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        },
      );
    });
  });
  const port = await listen(server);
  return {
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get peakConcurrentRequests() {
      return peak;
    },
    goAway() {
      for (const session of sessions) session.goaway(http2.constants.NGHTTP2_NO_ERROR);
    },
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function startHttp1Server(handler: FakeHandler, tls?: TlsCertificate): Promise<FakeServer> {
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }) : http.createServer();
  const sockets = new Set<Socket>();
  const socketNumbers = new WeakMap<Socket, number>();
  let connections = 0;
  let open = 0;
  let peak = 0;
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socketNumbers.set(socket, connections);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    open++;
    peak = Math.max(peak, open);
    res.on('close', () => open--);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: FakeRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        connection: socketNumbers.get(req.socket) ?? 0,
      };
      void Promise.resolve(handler(request)).then(
        (answer) => {
          if (answer === 'hang' || res.destroyed) return;
          const { headers, body } = encode(answer);
          res.writeHead(answer.status, headers);
          res.end(body);
        },
        () => res.destroy(),
      );
    });
  });
  const port = await listen(server);
  return {
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get peakConcurrentRequests() {
      return peak;
    },
    goAway() {
      throw new Error('GOAWAY is HTTP/2 only');
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
