/** Properties of wave tickets against arbitrary, forged and mutated values (fast-check; the seed prints on failure). */
import fc from 'fast-check';
import { MAX_WAVE, WaveTicketSigner } from './wave-tickets';

const NOW = 1_790_000_000;
const signer = new WaveTicketSigner('wave-ticket-secret-0123456789abcdefghij');
const other = new WaveTicketSigner('another-wave-secret-0123456789abcdefghi');

const genuine = fc
  .record({
    campaignId: fc.uuid({ version: 4 }),
    wave: fc.integer({ min: 1, max: MAX_WAVE }),
    deviceId: fc.bigInt({ min: 1n, max: 2n ** 53n - 1n }).map(String),
    sentAt: fc.integer({ min: NOW - 86_000, max: NOW }),
  })
  .map((t) => {
    const ticket = { ...t, expiresAt: t.sentAt + 7 * 86_400 };
    return { ticket, value: signer.sign(ticket) };
  });
const char = fc.oneof(fc.constantFrom(...'.-_0123456789azAZw'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }));

describe('wave tickets, property-based', () => {
  it('never throws and returns null for anything that is not a ticket it issued', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.string({ maxLength: 120, unit: 'binary' }),
          fc.string().map((s) => `w1.${s}`),
        ),
        (value) => {
          expect(signer.verify(value, NOW)).toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses every ticket with one character changed, added or removed', () => {
    fc.assert(
      fc.property(genuine, fc.nat(), char, fc.constantFrom('replace', 'insert', 'delete'), ({ value }, at, c, how) => {
        const i = at % value.length;
        const mutated =
          how === 'replace'
            ? value.slice(0, i) + c + value.slice(i + 1)
            : how === 'insert'
              ? value.slice(0, i) + c + value.slice(i)
              : value.slice(0, i) + value.slice(i + 1);
        fc.pre(mutated !== value);
        expect(signer.verify(mutated, NOW)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts a genuine ticket as signed, never one signed with another secret', () => {
    fc.assert(
      fc.property(genuine, ({ ticket, value }) => {
        expect(signer.verify(value, NOW)).toEqual(ticket);
        expect(signer.verify(other.sign(ticket), NOW)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
