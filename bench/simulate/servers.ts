/**
 * The simulator's own HTTP servers, on loopback: the small origin the room protects (it counts sessions in progress:
 * a session starts with a user's first page and ends with their goodbye, so its peak is peakOriginConcurrency), and
 * the endpoint the sink forwards pushes to (SINK_FORWARD_URL).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SinkForwardBody } from '@tidegate/push';

export interface SimOrigin {
  url: string;
  port: number;
  /** Sessions in progress now, the most there were, requests seen, and pages from users not in a session. */
  stats(): { inSession: number; peak: number; requests: number; sessions: number };
  close(): Promise<void>;
}

function listen(server: http.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: http.Server): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

export async function startOrigin(): Promise<SimOrigin> {
  const inSession = new Set<string>();
  let peak = 0;
  let requests = 0;
  let sessions = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://origin');
    const device = url.searchParams.get('device') ?? '';
    if (url.pathname.endsWith('/bye')) {
      inSession.delete(device);
    } else if (!inSession.has(device)) {
      inSession.add(device);
      sessions++;
      peak = Math.max(peak, inSession.size);
    }
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'x-origin': 'sim' }).end('ok');
  });
  server.keepAliveTimeout = 30_000;
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats: () => ({ inSession: inSession.size, peak, requests, sessions }),
    close: closer(server),
  };
}

export interface ForwardReceiver {
  url: string;
  /** Send times of the batches received (ms), and messages per batch. */
  batches: Array<{ sentAt: number; messages: number }>;
  received(): number;
  close(): Promise<void>;
}

/** Receives the sink's forwards; hands each batch's messages to `deliver` and answers 204. */
export async function startForwardReceiver(deliver: (body: SinkForwardBody) => void, port = 0): Promise<ForwardReceiver> {
  const batches: Array<{ sentAt: number; messages: number }> = [];
  let received = 0;
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SinkForwardBody;
        if (!Array.isArray(body.messages)) throw new Error('no messages');
        received += body.messages.length;
        batches.push({ sentAt: body.messages[0]?.sentAt ?? Date.now(), messages: body.messages.length });
        deliver(body);
        res.writeHead(204).end();
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad forward: ${(err as Error).message}`);
      }
    });
  });
  const actual = await listen(server, port);
  return { url: `http://127.0.0.1:${actual}/pushes`, batches, received: () => received, close: closer(server) };
}
