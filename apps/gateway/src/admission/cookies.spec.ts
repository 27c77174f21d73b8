import { readCookie, serializeCookie } from './cookies';

describe('cookies', () => {
  it('reads one cookie among others, decoding its value', () => {
    expect(readCookie('a=1; tidegate_ticket_shop=shop.3.1.x%2Fy; b=2', 'tidegate_ticket_shop')).toBe('shop.3.1.x/y');
    expect(readCookie('a=1', 'b')).toBeUndefined();
    expect(readCookie(undefined, 'b')).toBeUndefined();
    expect(readCookie('b=%E0%A4%A', 'b')).toBeUndefined();
  });

  it('writes HttpOnly, SameSite=Lax cookies, Secure when asked', () => {
    expect(serializeCookie('t', 'a b', { maxAgeSeconds: 60, secure: true })).toBe(
      't=a%20b; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Secure',
    );
    expect(serializeCookie('t', 'x', { maxAgeSeconds: 0, secure: false })).toBe('t=x; Path=/; Max-Age=0; SameSite=Lax; HttpOnly');
  });
});
