import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Headers on every answer of an admin app: nothing is cached (answers carry API keys, campaign data, who called), and
 * no browser guesses a content type other than the declared one. Set on the raw response before routing, so errors
 * (401, 403, 400 for a malformed body, 404) carry them too.
 */
export const ADMIN_RESPONSE_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

export function adminResponseHeaders(_req: IncomingMessage, res: ServerResponse, next: () => void): void {
  for (const [name, value] of Object.entries(ADMIN_RESPONSE_HEADERS)) res.setHeader(name, value);
  next();
}
