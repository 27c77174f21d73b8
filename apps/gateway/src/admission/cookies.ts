/** Minimal cookie handling for the gate's hot path (two cookies at most; no plugin in the request pipeline). */

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export interface CookieOptions {
  maxAgeSeconds: number;
  secure: boolean;
  httpOnly?: boolean;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  // One string, no array to join (every arrival sets a cookie).
  let cookie = `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}; SameSite=Lax`;
  if (options.httpOnly !== false) cookie += '; HttpOnly';
  if (options.secure) cookie += '; Secure';
  return cookie;
}

export const ticketCookie = (roomId: string) => `tidegate_ticket_${roomId}`;
export const tokenCookie = (roomId: string) => `tidegate_token_${roomId}`;
