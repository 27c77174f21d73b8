/** Properties of waiting tickets against arbitrary, forged and mutated strings (fast-check; the seed prints on failure). */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { TicketError, TicketSigner } from './tickets';

const NOW = 1_790_000_000;
const signer = new TicketSigner('ticket-secret-0123456789abcdefghijklmn');
const other = new TicketSigner('another-secret-0123456789abcdefghijklm');

const room = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const genuine = fc
  .record({ roomId: room, number: fc.integer({ min: 1, max: 1e12 }), issuedAt: fc.integer({ min: NOW - 86_000, max: NOW }) })
  .map((t) => ({ ticket: t, value: signer.sign(t) }));
/** Any character a client could send in a header, a cookie or a socket handshake. */
const char = fc.oneof(fc.constantFrom(...'.-_0123456789azAZ'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }));

/** Verifies; a TicketError is a refusal, anything else thrown escapes (and fails the property). */
function refused(value: string, roomId: string): boolean {
  try {
    signer.verify(value, roomId, NOW);
    return false;
  } catch (err) {
    if (err instanceof TicketError) return true;
    throw err;
  }
}

describe('tickets, property-based', () => {
  it('refuses any string that is not a ticket this signer issued, with a TicketError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), room, (value, roomId) => refused(value, roomId)),
      { numRuns: 1000 },
    );
  });

  it('refuses every ticket with one character changed, added or removed', () => {
    fc.assert(
      fc.property(genuine, fc.nat(), char, fc.constantFrom('replace', 'insert', 'delete'), ({ ticket, value }, at, c, how) => {
        const i = at % value.length;
        const mutated =
          how === 'replace'
            ? value.slice(0, i) + c + value.slice(i + 1)
            : how === 'insert'
              ? value.slice(0, i) + c + value.slice(i)
              : value.slice(0, i) + value.slice(i + 1);
        fc.pre(mutated !== value);
        expect(refused(mutated, ticket.roomId)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a ticket whose issue time is spelled with a leading zero (one spelling per ticket)', () => {
    // Found by the property above: `….1789914000.` and `….01789914000.` parsed to the same number and both verified.
    const value = signer.sign({ roomId: 'aa--', number: 10_000_000_000, issuedAt: 1_789_914_000 });
    expect(refused(value.replace('.1789914000.', '.01789914000.'), 'aa--')).toBe(true);
    expect(signer.verify(value, 'aa--', NOW)).toMatchObject({ issuedAt: 1_789_914_000 });
  });

  it('accepts a genuine ticket only in its own room, and never one signed with another secret', () => {
    fc.assert(
      fc.property(genuine, room, ({ ticket, value }, elsewhere) => {
        expect(signer.verify(value, ticket.roomId, NOW)).toEqual(ticket);
        if (elsewhere !== ticket.roomId) expect(refused(value, elsewhere)).toBe(true);
        expect(refused(other.sign(ticket), ticket.roomId)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('signs with the MAC node:crypto computes, for any room id (ASCII or not), number and time, across many rooms', () => {
    const key = Buffer.from('ticket-secret-0123456789abcdefghijklmn', 'utf8');
    fc.assert(
      fc.property(
        fc.oneof(room, fc.string({ maxLength: 80, unit: 'binary' })),
        fc.oneof(fc.integer({ min: 0, max: 1e15 }), fc.double()),
        fc.integer({ min: 0, max: 1e12 }),
        (roomId, number, issuedAt) => {
          const mac = createHmac('sha256', key).update(`v1|${roomId}|${number}|${issuedAt}`).digest().subarray(0, 16).toString('base64url');
          expect(signer.sign({ roomId, number, issuedAt })).toBe(`${roomId}.${number}.${issuedAt}.${mac}`);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
