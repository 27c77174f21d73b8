import { isReserved, originTarget } from './gate.hook';

describe('gate routing', () => {
  const origin = new URL('http://shop.internal:8080');

  it('always targets the room origin, whatever the request line says', () => {
    expect(originTarget(origin, '/a/b?c=1')).toBe('http://shop.internal:8080/a/b?c=1');
    expect(new URL(originTarget(origin, '//evil.example/x')).host).toBe('shop.internal:8080');
    expect(new URL(originTarget(origin, 'http://evil.example/x')).host).toBe('shop.internal:8080');
  });

  it("keeps the gateway's own paths out of every room", () => {
    for (const p of [
      '/health/ready',
      '/metrics',
      '/docs',
      '/docs/json',
      '/.well-known/jwks.json',
      '/rooms/x/status',
      '/_tidegate/waiting-room.js',
    ]) {
      expect(isReserved(p)).toBe(true);
    }
    for (const p of ['/', '/shop', '/roomsx', '/healthy']) expect(isReserved(p)).toBe(false);
  });
});
