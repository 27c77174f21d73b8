/**
 * HTTP/1.1 requests with keep-alive agents (one for http, one for https), a per-request timeout, and the whole
 * answer buffered: for the OAuth2 token endpoint and Web Push services.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { RequestTimeoutError } from './http2-client';
import { type TlsOptions } from './types';

export interface Http1Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Http1ClientOptions {
  timeoutMs: number;
  /** Sockets per origin (default 50). */
  maxSockets?: number;
  tls?: TlsOptions;
}

export class Http1Client {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: Http1ClientOptions) {
    const maxSockets = options.maxSockets ?? 50;
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets, ca: options.tls?.ca });
  }

  request(url: URL, init: { method: string; headers: OutgoingHttpHeaders; body?: string | Buffer }): Promise<Http1Response> {
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') return Promise.reject(new Error(`not an http(s) URL: ${url.protocol}`));
    const send = secure ? https.request : http.request;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | undefined, response?: Http1Response) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(response as Http1Response);
      };
      const req = send(url, { method: init.method, headers: init.headers, agent: secure ? this.httpsAgent : this.httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (err) => settle(err));
      });
      const timer = setTimeout(() => {
        settle(new RequestTimeoutError(this.options.timeoutMs));
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', (err) => settle(err));
      req.end(init.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
