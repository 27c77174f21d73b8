import { API_SECURITY_HEADERS, socketOrigins, waitingPageSecurityHeaders } from './security-headers';

describe('security headers', () => {
  it("lets the waiting page connect to the ws app's origin over HTTP(S) and WebSockets only", () => {
    expect(socketOrigins('https://wait.example.com/socket.io')).toEqual(['https://wait.example.com', 'wss://wait.example.com']);
    expect(socketOrigins('http://127.0.0.1:3002')).toEqual(['http://127.0.0.1:3002', 'ws://127.0.0.1:3002']);
    expect(socketOrigins(null)).toEqual([]);
    expect(waitingPageSecurityHeaders('https://wait.example.com')['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' https://wait.example.com wss://wait.example.com; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
  });

  it('always sends nosniff and no referrer', () => {
    for (const headers of [API_SECURITY_HEADERS, waitingPageSecurityHeaders(null)]) {
      expect(headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    }
  });
});
