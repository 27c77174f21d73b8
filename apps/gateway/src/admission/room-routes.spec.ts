import { RoomRoutes } from './room-routes';

describe('RoomRoutes', () => {
  const routes = new RoomRoutes([
    { id: 'everything', paths: ['/*'] },
    { id: 'shop', paths: ['/shop/*', '/checkout'] },
    { id: 'sale', paths: ['/shop/sale/*'] },
  ]);

  it('picks the most specific pattern', () => {
    expect(routes.match('/shop/sale/shoes')).toBe('sale');
    expect(routes.match('/shop/hats')).toBe('shop');
    expect(routes.match('/checkout')).toBe('shop');
    expect(routes.match('/checkout/step-2')).toBe('everything');
    expect(routes.match('/')).toBe('everything');
  });

  it('matches nothing when no pattern covers the path', () => {
    const narrow = new RoomRoutes([{ id: 'shop', paths: ['/shop/*'] }]);
    expect(narrow.match('/about')).toBeNull();
    expect(narrow.match('/shop')).toBeNull();
    expect(narrow.match('/shop/')).toBe('shop');
  });
});
