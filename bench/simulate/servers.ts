/**
 * The simulator's own HTTP servers, on loopback: the small origin the room protects (it counts sessions in progress:
 * a session starts with a user's first page and ends with their goodbye, or after a session's length without a
 * request; its peak is peakOriginConcurrency), and
 * the endpoint the sink forwards pushes to (SINK_FORWARD_URL).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SinkForwardBody } from '@tidegate/push';

export interface SimOrigin {
  url: string;
  port: number;
  /**
   * Sessions in progress now and the most there were; requests seen; sessions started; sessions that ended by going
   * idle (no request for a session's length) rather than by a goodbye.
   */
  stats(): { inSession: number; peak: number; requests: number; sessions: number; idleExpired: number };
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

/**
 * `idleSeconds`: like any web app's session store, a session with no request for this long is over (the room's
 * session duration: the gateway frees the place after the same idle time), so a user who vanished without a goodbye
 * does not hold a place here for ever.
 */
export async function startOrigin(idleSeconds: number): Promise<SimOrigin> {
  // device -> last request (ms); re-inserted on every request, so the Map is ordered by last request.
  const inSession = new Map<string, number>();
  let peak = 0;
  let requests = 0;
  let sessions = 0;
  let idleExpired = 0;
  const expire = (now: number) => {
    for (const [device, last] of inSession) {
      if (now - last <= idleSeconds * 1000) break;
      inSession.delete(device);
      idleExpired++;
    }
  };
  const server = http.createServer((req, res) => {
    requests++;
    const now = Date.now();
    expire(now);
    const url = new URL(req.url ?? '/', 'http://origin');
    const device = url.searchParams.get('device') ?? '';
    if (url.pathname.endsWith('/bye')) {
      inSession.delete(device);
    } else {
      if (!inSession.delete(device)) sessions++;
      inSession.set(device, now);
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
    stats: () => {
      expire(Date.now());
      return { inSession: inSession.size, peak, requests, sessions, idleExpired };
    },
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
