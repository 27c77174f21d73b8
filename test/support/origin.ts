/** A stand-in for a customer's origin on loopback: answers every request with what it received. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

export interface FakeOrigin {
  url: string;
  requests: EchoedRequest[];
  close(): Promise<void>;
}

export async function startFakeOrigin(): Promise<FakeOrigin> {
  const requests: EchoedRequest[] = [];
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const echoed = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes };
      requests.push(echoed);
      res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'fake' });
      res.end(JSON.stringify({ origin: true, ...echoed }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
