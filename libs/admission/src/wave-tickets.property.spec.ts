/** Properties of wave tickets against arbitrary, forged and mutated values (fast-check; the seed prints on failure). */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { MAX_WAVE, WaveTicketSigner, type WaveTicket } from './wave-tickets';

const NOW = 1_790_000_000;
const signer = new WaveTicketSigner('wave-ticket-secret-0123456789abcdefghij');
const other = new WaveTicketSigner('another-wave-secret-0123456789abcdefghi');

/** The format spelled out with node:crypto, as the module's doc comment describes it: w2, or the w1 signed before it. */
function referenceTicket(secret: string, t: WaveTicket, version: 'w1' | 'w2' = 'w2'): string {
  const ttl = t.expiresAt - t.sentAt;
  const w2Head = `w2|${t.campaignId}|${t.wave}|`;
  const message =
    version === 'w1'
      ? `w1|${t.campaignId}|${t.wave}|${Number(t.deviceId)}|${t.sentAt}|${ttl}`
      : `${w2Head.padEnd(64, '.')}${Number(t.deviceId)}|${t.sentAt}|${ttl}`;
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(message).digest().subarray(0, 16).toString('base64url');
  const campaign = Buffer.from(t.campaignId.replace(/-/g, ''), 'hex').toString('base64url');
  const b36 = (n: number) => n.toString(36);
  return `${version}.${campaign}.${b36(t.wave)}.${b36(Number(t.deviceId))}.${b36(t.sentAt)}.${b36(ttl)}.${mac}`;
}

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
          fc.string().map((s) => `w2.${s}`),
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

  it('signs a batch as sign() signs each ticket, byte for byte the documented format', () => {
    const secret = 'wave-ticket-secret-0123456789abcdefghij';
    fc.assert(
      fc.property(
        fc.record({
          campaignId: fc.uuid({ version: 4 }),
          wave: fc.integer({ min: 1, max: MAX_WAVE }),
          sentAt: fc.integer({ min: 0, max: 2 ** 40 }),
          ttl: fc.integer({ min: 1, max: 28 * 86_400 }),
        }),
        fc.array(fc.bigInt({ min: 1n, max: 2n ** 53n - 1n }).map(String), { minLength: 1, maxLength: 20 }),
        ({ campaignId, wave, sentAt, ttl }, deviceIds) => {
          const shared = { campaignId, wave, sentAt, expiresAt: sentAt + ttl };
          const batch = signer.batch(shared);
          for (const deviceId of deviceIds) {
            const ticket = { ...shared, deviceId };
            const value = batch(deviceId);
            expect(value).toBe(signer.sign(ticket));
            expect(value).toBe(referenceTicket(secret, ticket));
            expect(signer.verify(value, sentAt)).toEqual(ticket);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('still accepts a genuine w1 ticket (signed before w2) while it lives, and neither version relabelled as the other', () => {
    const secret = 'wave-ticket-secret-0123456789abcdefghij';
    fc.assert(
      fc.property(genuine, ({ ticket, value }) => {
        const w1 = referenceTicket(secret, ticket, 'w1');
        expect(signer.verify(w1, NOW)).toEqual(ticket);
        expect(signer.verify(w1, ticket.expiresAt)).toBeNull();
        expect(signer.verify(`w2${w1.slice(2)}`, NOW)).toBeNull();
        expect(signer.verify(`w1${value.slice(2)}`, NOW)).toBeNull();
        expect(other.verify(w1, NOW)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('refuses in a batch what sign() refuses', () => {
    const batch = signer.batch({ campaignId: '3f0c2a9e-58b1-4c1e-9a57-0d2f6b7c8e91', wave: 1, sentAt: NOW, expiresAt: NOW + 60 });
    for (const bad of ['0', '-1', '01', '1.5', '', ' 1', String(2n ** 53n), 'x']) expect(() => batch(bad)).toThrow(/device/);
    expect(() => signer.batch({ campaignId: 'nope', wave: 1, sentAt: NOW, expiresAt: NOW + 60 })).toThrow(/UUID/);
  });
});
