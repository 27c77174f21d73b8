/**
 * One HTTP/2 connection per origin, shared by every request (many concurrent streams), replaced when the server
 * sends GOAWAY or the connection closes or fails. `https://` origins use TLS (ALPN h2); `http://` origins speak
 * cleartext HTTP/2 with prior knowledge (h2c), which the local fake servers use.
 */
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { type TlsOptions } from './types';

export interface Http2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request that got no complete answer within its timeout (`code` is `timeout`). */
export class RequestTimeoutError extends Error {
  readonly code = 'timeout';
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

export interface Http2OriginOptions {
  /** Per-request timeout: from sending the request to the end of the answer. */
  timeoutMs: number;
  tls?: TlsOptions;
}

/** Errors after which the server certainly did not process the request, so it may be sent again at once. */
const UNPROCESSED = new Set(['REFUSED_STREAM', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_INVALID_SESSION']);
/** A request without a body ends its stream with its headers. */
const END_STREAM = { endStream: true };
/** A request with a body keeps its stream open for the body: node:http2's default for every method but these. */
const KEEP_OPEN = { endStream: false };
const NO_PAYLOAD_BY_DEFAULT = new Set(['DELETE', 'GET', 'HEAD', 'CONNECT']);
/**
 * The options of a request with a body: none for POST, PUT, PATCH… (node:http2 keeps their stream open by default;
 * with options given, its request() spends more on them than on the rest of the headers, in the FCM profile).
 */
const streamOptionsFor = (method: unknown) => (typeof method === 'string' && !NO_PAYLOAD_BY_DEFAULT.has(method) ? undefined : KEEP_OPEN);
const codeOf = (err: unknown) => (err as { code?: unknown } | null)?.code;

interface Connection {
  session: ClientHttp2Session;
  /** Settles when the server's first SETTINGS arrive (its stream limit is known), or the connection fails. */
  ready: Promise<void>;
  /** True once `ready` resolved: requests then open their stream at once, without waiting a microtask on it. */
  isReady: boolean;
}

export class Http2Origin {
  private connection: Connection | undefined;
  private readonly probing = new WeakSet<ClientHttp2Session>();
  private closed = false;
  /** Connections opened so far (1 while the first one lives). */
  sessionsOpened = 0;

  constructor(
    readonly origin: string,
    private readonly options: Http2OriginOptions,
  ) {
    const url = new URL(origin);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`not an http(s) origin: ${origin}`);
    this.origin = url.origin;
  }

  /**
   * Sends one request on the shared connection. Rejects on timeout or transport failure, never on an HTTP status.
   * A request the server refused unprocessed (REFUSED_STREAM, or sent as the connection was going away) is sent
   * once more, on a new connection if needed.
   */
  request(headers: OutgoingHttpHeaders, body?: string | Buffer): Promise<Http2Response> {
    if (this.closed) return Promise.reject(new Error('the HTTP/2 client is closed'));
    return this.attempt(headers, body).catch((err: unknown) => {
      const code = codeOf(err);
      if (typeof code !== 'string' || !UNPROCESSED.has(code)) throw err;
      if (this.closed) throw new Error('the HTTP/2 client is closed');
      return this.attempt(headers, body);
    });
  }

  /** Closes the connection after its open streams finish (or destroys it after the request timeout). */
  async close(): Promise<void> {
    this.closed = true;
    const session = this.connection?.session;
    this.connection = undefined;
    if (!session || session.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        session.destroy();
        resolve();
      }, this.options.timeoutMs);
      session.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private attempt(headers: OutgoingHttpHeaders, body: string | Buffer | undefined): Promise<Http2Response> {
    return new Promise((resolve, reject) => {
      const connection = this.current();
      const { session } = connection;
      let stream: http2.ClientHttp2Stream | undefined;
      let settled = false;
      let status = 0;
      let responseHeaders: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      const settle = (err: Error | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err !== undefined) reject(err);
        else resolve({ status, headers: responseHeaders, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) });
      };
      const refusedOr = (err: Error): Error =>
        stream?.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM
          ? Object.assign(new Error('the server refused the stream unprocessed'), { code: 'REFUSED_STREAM' })
          : err;
      const timer = setTimeout(() => {
        settle(new RequestTimeoutError(this.options.timeoutMs));
        if (stream) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          this.probe(session);
        } else {
          this.drop(session); // never got the server's SETTINGS: the connection is useless
        }
      }, this.options.timeoutMs);
      const open = () => {
        if (settled) return;
        try {
          stream = session.request(headers, body === undefined ? END_STREAM : streamOptionsFor(headers[':method']));
        } catch (err) {
          this.forget(session);
          settle(err as Error);
          return;
        }
        stream.on('response', (h) => {
          status = Number(h[':status']);
          responseHeaders = h;
        });
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => settle(status > 0 ? undefined : new Error('stream ended without a response')));
        stream.on('error', (err: Error) => settle(refusedOr(err)));
        // 'close' follows 'end' on every answered request: the error is built only when nothing settled first.
        stream.on('close', () => {
          if (settled) return;
          settle(refusedOr(Object.assign(new Error(`stream closed (code ${stream?.rstCode})`), { code: 'STREAM_CLOSED' })));
        });
        if (body !== undefined) stream.end(body);
      };
      if (connection.isReady) open();
      else connection.ready.then(open, (err: unknown) => settle(err as Error));
    });
  }

  private current(): Connection {
    const existing = this.connection;
    if (existing && !existing.session.closed && !existing.session.destroyed) return existing;
    const session = http2.connect(this.origin, { ca: this.options.tls?.ca });
    this.sessionsOpened++;
    const ready = new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
      session.once('close', () =>
        reject(Object.assign(new Error('the connection closed before it was ready'), { code: 'ERR_HTTP2_INVALID_SESSION' })),
      );
    });
    const connection: Connection = { session, ready, isReady: false };
    ready.then(
      () => (connection.isReady = true),
      () => undefined, // observed by every request that awaits it
    );
    session.on('goaway', () => this.forget(session));
    session.on('close', () => this.forget(session));
    session.on('error', () => this.forget(session));
    this.connection = connection;
    return connection;
  }

  private forget(session: ClientHttp2Session): void {
    if (this.connection?.session === session) this.connection = undefined;
  }

  private drop(session: ClientHttp2Session): void {
    this.forget(session);
    session.destroy();
  }

  /** After a timeout: a connection that cannot answer a PING within the timeout is dead; replace it. */
  private probe(session: ClientHttp2Session): void {
    if (session.destroyed || this.probing.has(session)) return;
    this.probing.add(session);
    const timer = setTimeout(() => this.drop(session), this.options.timeoutMs);
    const sent = session.ping((err) => {
      clearTimeout(timer);
      this.probing.delete(session);
      if (err) this.drop(session);
    });
    if (!sent) {
      clearTimeout(timer);
      this.probing.delete(session);
    }
  }
}
