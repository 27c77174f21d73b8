/**
 * The demo's origin: a tiny "Demo shop" on DEMO_ORIGIN_PORT (3005 by default) that the demo room protects, so a visit
 * through the gateway shows what an admitted user sees. It runs inside the `npm start` process; a real deployment
 * points a room at its own backend instead.
 */
import http from 'node:http';
import type { Service, StopOutcome } from './children';
import { StartError, connectHost } from './common';

const page = (path: string, forwardedFor: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo shop</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1>Demo shop</h1>
<p>You are in: the waiting room admitted you, and the gateway passed your request for <code>${path.replace(/[<>&"]/g, '')}</code> to this origin.</p>
<p>Your request came through the gateway for ${forwardedFor.replace(/[<>&"]/g, '')}.</p>
</body></html>
`;

export async function startDemoOrigin(host: string, port: number): Promise<Service & { url: string }> {
  const server = http.createServer((req, res) => {
    const forwardedFor = String(req.headers['x-forwarded-for'] ?? 'an unknown client');
    if ((req.headers.accept ?? '').includes('application/json')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ shop: 'Demo shop', admitted: true, path: req.url, forwardedFor }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(req.url ?? '/', forwardedFor));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new StartError(
              `port ${port} (DEMO_ORIGIN_PORT: the demo shop behind the demo room) is already in use on ${host}; ` +
                `stop what listens there, or pick another port, e.g. DEMO_ORIGIN_PORT=${port + 100} npm start`,
            )
          : err,
      ),
    );
    server.listen(port, host, resolve);
  });
  return {
    name: 'demo shop',
    kind: 'infra',
    url: `http://${connectHost(host)}:${port}`,
    stop: () =>
      new Promise<StopOutcome>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve('stopped'));
      }),
    abandon: () => server.close(),
  };
}
