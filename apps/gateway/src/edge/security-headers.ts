/**
 * Security headers of what the gateway answers itself (the waiting page, its JSON, its assets, its error pages); never
 * of what the origin answers. The waiting page's Content-Security-Policy allows scripts and styles from the gateway
 * only (the page has nothing inline) and connections to the gateway and to the ws app it follows its place on.
 */

export type SecurityHeaders = Readonly<Record<string, string>>;

const COMMON = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** For JSON, scripts, styles and plain error pages: they load nothing and may not be framed. */
export const API_SECURITY_HEADERS: SecurityHeaders = {
  ...COMMON,
  'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** The origins (http(s) and ws(s)) a page may open connections to for a socket.io URL; none when it is unset. */
export function socketOrigins(socketUrl: string | null): string[] {
  if (!socketUrl) return [];
  const url = new URL(socketUrl);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  return [`${secure ? 'https' : 'http'}://${url.host}`, `${secure ? 'wss' : 'ws'}://${url.host}`];
}

/** For the waiting page: its own scripts and styles, connections to the gateway and the ws app. */
export function waitingPageSecurityHeaders(socketUrl: string | null): SecurityHeaders {
  const connect = ["'self'", ...socketOrigins(socketUrl)].join(' ');
  return {
    ...COMMON,
    'content-security-policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      `connect-src ${connect}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
}
