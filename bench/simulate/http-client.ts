/** A small keep-alive HTTP client for the simulated users (bounded connections per host, a timeout per request). */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

// Enough sockets per gateway that requests never queue in this process behind others (a queue here would look like a
// slow gateway, and could let a session go idle).
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 256 });

export function httpRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  body?: string,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Closes every connection of this process's client (idle or not): the users went away. */
export function closeConnections(): void {
  agent.destroy();
}
