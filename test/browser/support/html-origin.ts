/** A customer's origin that serves a small HTML page (test/support/origin.ts answers JSON only). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const ORIGIN_HEADING = 'Welcome to the shop';

export interface HtmlOrigin {
  url: string;
  /** The URLs (path and query) of the requests it received, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startHtmlOrigin(): Promise<HtmlOrigin> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title></head>
<body><h1>${ORIGIN_HEADING}</h1><p>The sale is on.</p></body>
</html>
`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
