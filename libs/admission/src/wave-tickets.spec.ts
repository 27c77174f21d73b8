import { WAVE_TICKET_MAX_LENGTH } from '@tidegate/contracts';
import { MAX_WAVE, MAX_WAVE_TICKET_TTL_SECONDS, WaveTicketSigner, type WaveTicket } from './wave-tickets';

const SECRET = 'wave-ticket-secret-0123456789abcdefghij';
const NOW = 1_790_000_000;
const ticket: WaveTicket = {
  campaignId: '3f0c2a9e-58b1-4c1e-9a57-0d2f6b7c8e91',
  wave: 3,
  deviceId: '123456',
  sentAt: NOW - 60,
  expiresAt: NOW - 60 + 86_400,
};

describe('WaveTicketSigner', () => {
  const signer = new WaveTicketSigner(SECRET);
  const value = signer.sign(ticket);

  it('round-trips a ticket, compact, URL-safe and versioned', () => {
    expect(value).toMatch(/^w2\.[A-Za-z0-9._-]+$/);
    expect(value.length).toBeLessThanOrEqual(80);
    expect(encodeURIComponent(value)).toBe(value);
    expect(signer.verify(value, NOW)).toEqual(ticket);
  });

  it('keeps the largest fields within WAVE_TICKET_MAX_LENGTH', () => {
    const largest = signer.sign({
      campaignId: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
      wave: MAX_WAVE,
      deviceId: String(Number.MAX_SAFE_INTEGER),
      sentAt: 2 ** 40,
      expiresAt: 2 ** 40 + MAX_WAVE_TICKET_TTL_SECONDS,
    });
    expect(largest.length).toBeLessThanOrEqual(WAVE_TICKET_MAX_LENGTH);
    expect(signer.verify(largest, 2 ** 40)).not.toBeNull();
  });

  it('refuses a ticket signed with another secret (forged)', () => {
    const other = new WaveTicketSigner('another-secret-0123456789abcdefghijkl').sign(ticket);
    expect(signer.verify(other, NOW)).toBeNull();
  });

  it('refuses an expired ticket, and one sent far in the future', () => {
    expect(signer.verify(value, ticket.expiresAt - 1)).toEqual(ticket);
    expect(signer.verify(value, ticket.expiresAt)).toBeNull();
    expect(signer.verify(value, ticket.sentAt - 3600)).toBeNull();
  });

  it('refuses a ticket with any field changed (tampered)', () => {
    const parts = value.split('.');
    const tampered = [1, 2, 3, 4, 5].map((i) => {
      const p = [...parts];
      p[i] =
        i === 1
          ? signer.sign({ ...ticket, campaignId: '3f0c2a9e-58b1-4c1e-9a57-0d2f6b7c8e92' }).split('.')[1]!
          : (parseInt(p[i]!, 36) + 1).toString(36);
      return p.join('.');
    });
    for (const t of tampered) expect(signer.verify(t, NOW)).toBeNull();
    // A longer TTL would let a ticket live on: refused too.
    const longer = [...parts];
    longer[5] = (parseInt(parts[5]!, 36) * 2).toString(36);
    expect(signer.verify(longer.join('.'), NOW)).toBeNull();
    // The MAC itself, one character changed.
    const mac = parts[6]!;
    expect(signer.verify([...parts.slice(0, 6), (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1)].join('.'), NOW)).toBeNull();
  });

  it('answers null, never throws, for anything that is not a ticket (malformed)', () => {
    const junk: unknown[] = [
      '',
      'w1',
      // A w2 ticket relabelled w1 (the versions' MACs are over different messages).
      'w1' + value.slice(2),
      'w3' + value.slice(2),
      value + '.x',
      value.replace(/\./g, '~'),
      value.toUpperCase(),
      value.slice(0, -1),
      `w1.${'A'.repeat(22)}.01.1.1.1.${'A'.repeat(22)}`,
      'x'.repeat(10_000),
      undefined,
      null,
      42,
      { value },
    ];
    for (const j of junk) expect(signer.verify(j, NOW)).toBeNull();
  });

  it('refuses to sign what no ticket can carry, and a short secret', () => {
    expect(() => signer.sign({ ...ticket, wave: 0 })).toThrow(/wave/);
    expect(() => signer.sign({ ...ticket, deviceId: '-1' })).toThrow(/device/);
    expect(() => signer.sign({ ...ticket, campaignId: 'nope' })).toThrow(/UUID/);
    expect(() => signer.sign({ ...ticket, expiresAt: ticket.sentAt })).toThrow(/expiresAt/);
    expect(() => new WaveTicketSigner('short')).toThrow(/32/);
  });
});
