import { TicketError, TicketSigner } from './tickets';

const secret = 'a-secret-of-at-least-thirty-two-characters';

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof TicketError) return err.problem;
    throw err;
  }
  return 'accepted';
}

describe('TicketSigner', () => {
  const signer = new TicketSigner(secret);
  const now = 1_800_000_000;
  const ticket = { roomId: 'spring-sale', number: 115, issuedAt: now - 60 };

  it('round-trips a ticket of the room', () => {
    const value = signer.sign(ticket);
    expect(value).toMatch(/^spring-sale\.115\.\d+\.[A-Za-z0-9_-]{22}$/);
    expect(signer.verify(value, 'spring-sale', now)).toEqual(ticket);
  });

  it('refuses a changed number, a changed room, and another secret', () => {
    const value = signer.sign(ticket);
    expect(problemOf(() => signer.verify(value.replace('.115.', '.1.'), 'spring-sale', now))).toBe('forged');
    const otherRoom = signer.sign({ ...ticket, roomId: 'other' });
    expect(problemOf(() => signer.verify(otherRoom, 'spring-sale', now))).toBe('other_room');
    const foreign = new TicketSigner(`${secret}!`).sign(ticket);
    expect(problemOf(() => signer.verify(foreign, 'spring-sale', now))).toBe('forged');
  });

  it('refuses malformed and expired tickets', () => {
    for (const bad of ['', 'x', 'spring-sale.0.1.AAAAAAAAAAAAAAAAAAAAAA', 'Spring.1.1.AAAAAAAAAAAAAAAAAAAAAA', `${signer.sign(ticket)}x`]) {
      expect(problemOf(() => signer.verify(bad, 'spring-sale', now))).toBe('malformed');
    }
    const old = signer.sign({ ...ticket, issuedAt: now - 90_000 });
    expect(problemOf(() => signer.verify(old, 'spring-sale', now))).toBe('expired');
  });

  it('needs a long secret', () => {
    expect(() => new TicketSigner('short')).toThrow(/at least 32/);
  });
});
