/**
 * The throttle's answers: 429 for a client over its limit, as a small HTML page for browsers (`Accept: text/html`)
 * and JSON for apps; 400 for a malformed X-Device-Id. The RateLimit-* and Retry-After headers are set by
 * ClientThrottle before either is sent.
 */
import { HttpException, HttpStatus } from '@nestjs/common';
import { API_SECURITY_HEADERS } from '../edge/security-headers';

export function tooManyRequestsBody(retryAfterSeconds: number) {
  return { statusCode: 429, error: 'Too Many Requests', message: `Too many requests: retry in ${retryAfterSeconds} s` };
}

/** Browsers ask for HTML when they navigate; apps and the waiting page's own calls ask for JSON (or anything). */
export function prefersHtml(accept: string | string[] | undefined): boolean {
  return String(accept ?? '').includes('text/html');
}

/** A page with no script and no style (its CSP allows none), which reloads itself once the client may retry. */
export function tooManyRequestsPage(retryAfterSeconds: number): string {
  const wait = `${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${retryAfterSeconds}">
<title>Too many requests</title>
</head>
<body>
<main>
<h1>Too many requests</h1>
<p>This device sent more requests than the site allows in a short time. Please wait ${wait}: this page reloads by itself.</p>
</main>
</body>
</html>
`;
}

interface ReplySink {
  code(status: number): ReplySink;
  header(name: string, value: string): ReplySink;
  send(payload: unknown): unknown;
}

/** Sends the 429 (HTML or JSON, by `accept`); the rate-limit headers are already on the reply. */
export function sendTooManyRequests(reply: ReplySink, accept: string | string[] | undefined, retryAfterSeconds: number): unknown {
  reply.code(429).header('cache-control', 'no-store');
  for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) reply.header(name, value);
  if (!prefersHtml(accept)) return reply.send(tooManyRequestsBody(retryAfterSeconds));
  return reply.header('content-type', 'text/html; charset=utf-8').send(tooManyRequestsPage(retryAfterSeconds));
}

/** Thrown by the throttle guard on Nest routes; TooManyRequestsFilter answers it as sendTooManyRequests does. */
export class TooManyRequestsException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(tooManyRequestsBody(retryAfterSeconds), HttpStatus.TOO_MANY_REQUESTS);
  }
}
