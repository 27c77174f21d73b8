/** The JavaScript HMAC-SHA-256 against node:crypto's, for arbitrary keys and ASCII messages (fast-check). */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { HmacSha256 } from './hmac-sha256';

const reference = (key: Uint8Array, message: string) => createHmac('sha256', key).update(message, 'latin1').digest();

describe('HmacSha256', () => {
  it('matches RFC 4231 test case 2', () => {
    const mac = new HmacSha256(Buffer.from('Jefe'));
    expect(mac.digest('what do ya want for nothing?').toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('is node:crypto HMAC-SHA-256 for any key and any ASCII message, every length across the block boundaries', () => {
    fc.assert(
      fc.property(
        // size 'max': fast-check otherwise keeps values small (keys under 11 bytes, messages under 11 characters).
        fc.uint8Array({ minLength: 0, maxLength: 150, size: 'max' }),
        fc.string({
          minLength: 0,
          maxLength: 300,
          size: 'max',
          unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
        }),
        (key, message) => {
          const mac = new HmacSha256(key);
          const expected = reference(key, message);
          expect(mac.digest(message)).toEqual(expected);
          const cut = Math.floor(message.length / 3);
          const withEnds = mac.base64url16With(message.slice(0, cut), message.slice(2 * cut));
          expect(withEnds(message.slice(cut, 2 * cut))).toBe(expected.subarray(0, 16).toString('base64url'));
          // The same instance again (its buffers are reused), and a message of every length up to 200.
          expect(mac.digest(message)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
    // One head and tail, middles of every length up to 200 and back (the buffer grows, and is reused with old bytes in it).
    const key = Buffer.from('k'.repeat(40));
    const withEnds = new HmacSha256(key).base64url16With('head|', '|tail');
    for (const n of [...Array(201).keys(), ...[...Array(201).keys()].reverse()]) {
      const middle = String(n % 10).repeat(n);
      expect(withEnds(middle)).toBe(reference(key, `head|${middle}|tail`).subarray(0, 16).toString('base64url'));
    }
  });

  it('is node:crypto HMAC-SHA-256 for keys shorter than, as long as and longer than a block, messages of 0 to 300 bytes', () => {
    // A WAVE_TICKET_SECRET of 88 characters (base64 of 64 random bytes) is longer than a block: the key is hashed first.
    for (const keyLength of [0, 1, 32, 63, 64, 65, 88, 150]) {
      const key = Buffer.alloc(keyLength, 0x5a);
      const mac = new HmacSha256(key);
      for (let n = 0; n <= 300; n++) {
        const message = 'm'.repeat(n);
        expect(mac.digest(message)).toEqual(reference(key, message));
      }
    }
  });

  it('keeps the tail blocks of messages of different lengths apart, also past 64 blocks', () => {
    const key = Buffer.from('k'.repeat(40));
    const tail = 'T'.repeat(4200);
    const withEnds = new HmacSha256(key).base64url16With('h', tail);
    for (const middle of ['', 'x', 'xx', '', 'x', 'x'.repeat(70), '']) {
      expect(withEnds(middle)).toBe(reference(key, `h${middle}${tail}`).subarray(0, 16).toString('base64url'));
    }
  });

  it('hashes a first block once: base64url16AfterBlock(block, head, tail) is base64url16With(block + head, tail)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 150, size: 'max' }),
        fc.string({ minLength: 64, maxLength: 64, unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) }),
        fc.string({ maxLength: 100, size: 'max', unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) }),
        (key, block, rest) => {
          const cut = Math.floor(rest.length / 3);
          const [head, tail] = [rest.slice(0, cut), rest.slice(2 * cut)];
          const macs = new HmacSha256(key).base64url16AfterBlock(block, head, tail);
          // Twice: the state after the block is kept, not consumed.
          for (let i = 0; i < 2; i++) {
            expect(macs(rest.slice(cut, 2 * cut))).toBe(
              reference(key, block + rest)
                .subarray(0, 16)
                .toString('base64url'),
            );
          }
        },
      ),
      { numRuns: 500 },
    );
    const mac = new HmacSha256(Buffer.from('key'));
    expect(() => mac.base64url16AfterBlock('x'.repeat(63), '', '')).toThrow(/64/);
    expect(() => mac.base64url16AfterBlock('é'.repeat(64), '', '')).toThrow(/ASCII/);
  });

  it('refuses a message that is not ASCII', () => {
    const mac = new HmacSha256(Buffer.from('key'));
    expect(() => mac.digest('é')).toThrow(/ASCII/);
    expect(() => mac.base64url16With('a', 'b')('é')).toThrow(/ASCII/);
    expect(() => mac.base64url16With('é', 'b')).toThrow(/ASCII/);
  });
});
