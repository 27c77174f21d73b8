/**
 * HMAC-SHA-256 (RFC 2104 over FIPS 180-4) of short ASCII messages under one fixed key, in plain JavaScript: the wave
 * tickets' signer calls it once per recipient of a campaign, where `createHmac` costs a native object, a key setup
 * (two SHA-256 blocks for the padded key) and three native calls per message. Here the key's two padded blocks are
 * hashed once, in the constructor; a message then costs its own blocks plus one for the outer hash (3 blocks for a
 * ticket), with no allocation but the returned string.
 *
 * The result is byte for byte `createHmac('sha256', key).update(message)`'s digest: property-tested against
 * node:crypto (hmac-sha256.spec.ts), and the tickets' `verify` still computes its MAC with node:crypto, so every
 * ticket signed here and verified there checks the two against each other.
 */
import { createHash } from 'node:crypto';

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;

/** The message schedule, shared (JavaScript runs one compression at a time). */
const W = new Int32Array(64);

/** One SHA-256 compression of the 64 bytes of `block` at `offset` into the state `h`. */
function compress(h: Int32Array, block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    W[i] = ((block[j] as number) << 24) | ((block[j + 1] as number) << 16) | ((block[j + 2] as number) << 8) | (block[j + 3] as number);
  }
  compressW(h);
}

/** One SHA-256 compression into the state `h` of the block whose 16 big-endian words are already in W[0..15]. */
function compressW(h: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15] as number;
    const y = W[i - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = ((W[i - 16] as number) + s0 + (W[i - 7] as number) + s1) | 0;
  }
  let a = h[0] as number;
  let b = h[1] as number;
  let c = h[2] as number;
  let d = h[3] as number;
  let e = h[4] as number;
  let f = h[5] as number;
  let g = h[6] as number;
  let k = h[7] as number;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (k + s1 + ch + (K[i] as number) + (W[i] as number)) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + s0 + maj) | 0;
  }
  h[0] = ((h[0] as number) + a) | 0;
  h[1] = ((h[1] as number) + b) | 0;
  h[2] = ((h[2] as number) + c) | 0;
  h[3] = ((h[3] as number) + d) | 0;
  h[4] = ((h[4] as number) + e) | 0;
  h[5] = ((h[5] as number) + f) | 0;
  h[6] = ((h[6] as number) + g) | 0;
  h[7] = ((h[7] as number) + k) | 0;
}

/** Writes the 32-bit words of `h` big-endian into `out` from `offset`, `words` of them. */
function writeWords(h: Int32Array, out: Uint8Array, offset: number, words: number): void {
  for (let i = 0; i < words; i++) {
    const v = h[i] as number;
    const j = offset + i * 4;
    out[j] = v >>> 24;
    out[j + 1] = (v >>> 16) & 0xff;
    out[j + 2] = (v >>> 8) & 0xff;
    out[j + 3] = v & 0xff;
  }
}

/** Bytes a message of `length` bytes takes with its padding and length: whole blocks. */
function paddedLength(length: number): number {
  return (Math.floor((length + 8) / BLOCK) + 1) * BLOCK;
}

/** Writes the padding and the bit length of a message of `length` bytes after `prefix` bytes already hashed (the key block, ...). */
function pad(buf: Uint8Array, length: number, prefix: number): number {
  buf[length] = 0x80;
  const end = paddedLength(length);
  for (let i = length + 1; i < end - 4; i++) buf[i] = 0;
  const bits = (length + prefix) * 8;
  buf[end - 4] = bits >>> 24;
  buf[end - 3] = (bits >>> 16) & 0xff;
  buf[end - 2] = (bits >>> 8) & 0xff;
  buf[end - 1] = bits & 0xff;
  return end;
}

/** Words 8-15 of the outer hash's one block: the padding and bit length after the 32-byte inner digest. */
const OUTER_PADDING = (() => {
  const block = new Uint8Array(BLOCK);
  pad(block, 32, BLOCK);
  const words = new Int32Array(8);
  for (let i = 0; i < 8; i++) {
    const j = 32 + i * 4;
    words[i] = ((block[j] as number) << 24) | ((block[j + 1] as number) << 16) | ((block[j + 2] as number) << 8) | (block[j + 3] as number);
  }
  return words;
})();

/** `message`'s characters as bytes into `buf` from `offset`; throws on a character that is not ASCII. */
function writeAscii(message: string, buf: Uint8Array, offset: number): void {
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c > 0x7f) throw new Error('HmacSha256: the message must be ASCII');
    buf[offset + i] = c;
  }
}

/** The base64url alphabet's character codes. */
const B64URL = new Uint8Array(64);
for (let i = 0; i < 64; i++) {
  B64URL[i] = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i);
}

/** Three bytes (a 24-bit number) as four base64url character codes, written into `codes` from `at`. */
function quad(v: number, codes: number[], at: number): void {
  codes[at] = B64URL[(v >>> 18) & 63] as number;
  codes[at + 1] = B64URL[(v >>> 12) & 63] as number;
  codes[at + 2] = B64URL[(v >>> 6) & 63] as number;
  codes[at + 3] = B64URL[v & 63] as number;
}

/** The 22 character codes of a MAC's base64url, reused. */
const codes16 = new Array<number>(22).fill(0);

/**
 * The first 16 bytes of the big-endian words of `h` in base64url, unpadded (22 characters): what
 * `Buffer.toString('base64url')` gives for them, without the native call.
 */
function base64url16(h: Int32Array): string {
  const w0 = h[0] as number;
  const w1 = h[1] as number;
  const w2 = h[2] as number;
  const w3 = h[3] as number;
  const c = codes16;
  // Bytes 0-2, 3-5, 6-8, 9-11, 12-14 as five quads, byte 15 as two characters (6 bits, then 2 bits and four zeros).
  quad(w0 >>> 8, c, 0);
  quad(((w0 & 0xff) << 16) | (w1 >>> 16), c, 4);
  quad(((w1 & 0xffff) << 8) | (w2 >>> 24), c, 8);
  quad(w2 & 0xffffff, c, 12);
  quad(w3 >>> 8, c, 16);
  c[20] = B64URL[(w3 >>> 2) & 63] as number;
  c[21] = B64URL[(w3 & 3) << 4] as number;
  return String.fromCharCode(...c);
}

export class HmacSha256 {
  /** The states after the inner (key ⊕ ipad) and outer (key ⊕ opad) blocks. */
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly state = new Int32Array(8);

  constructor(key: Uint8Array) {
    const k = key.length > BLOCK ? createHash('sha256').update(key).digest() : key;
    const ipad = new Uint8Array(BLOCK).fill(0x36);
    const opad = new Uint8Array(BLOCK).fill(0x5c);
    for (let i = 0; i < k.length; i++) {
      ipad[i] = (ipad[i] as number) ^ (k[i] as number);
      opad[i] = (opad[i] as number) ^ (k[i] as number);
    }
    this.inner.set(IV);
    compress(this.inner, ipad, 0);
    this.outer.set(IV);
    compress(this.outer, opad, 0);
  }

  /** The MAC of an ASCII message (throws on any other character), all 32 bytes. */
  digest(message: string): Buffer {
    const buf = new Uint8Array(paddedLength(message.length));
    writeAscii(message, buf, 0);
    this.hash(buf, message.length);
    const out = Buffer.allocUnsafe(32);
    writeWords(this.state, out, 0, 8);
    return out;
  }

  /**
   * The MACs of `head + middle + tail` for one head and tail (ASCII), each as its first 16 bytes in base64url (22
   * characters: `digest(head + middle + tail).subarray(0, 16).toString('base64url')`). The head's and tail's bytes
   * are laid out once; a call writes its middle's and hashes. Throws on a character that is not ASCII.
   */
  base64url16With(head: string, tail: string): (middle: string) => string {
    return this.macsAfter(this.inner, BLOCK, head, tail);
  }

  /**
   * As `base64url16With(block + head, tail)`, for a `block` of exactly 64 ASCII characters (one SHA-256 block): its
   * compression is done once, here, so a call hashes only what follows it. A message whose varying part starts past
   * its first 64 bytes costs one block less per call this way (wave tickets w2: 2 blocks instead of 3).
   */
  base64url16AfterBlock(block: string, head: string, tail: string): (middle: string) => string {
    if (block.length !== BLOCK) throw new Error(`HmacSha256: the block must have ${BLOCK} characters, got ${block.length}`);
    const bytes = new Uint8Array(BLOCK);
    writeAscii(block, bytes, 0);
    const start = new Int32Array(this.inner);
    compress(start, bytes, 0);
    return this.macsAfter(start, 2 * BLOCK, head, tail);
  }

  /**
   * The MACs (first 16 bytes, base64url) of `head + middle + tail` following `prefix` bytes already hashed into the
   * inner state `start` (the key block, and any whole blocks after it).
   */
  private macsAfter(start: Int32Array, prefix: number, head: string, tail: string): (middle: string) => string {
    const tailBytes = new Uint8Array(tail.length);
    writeAscii(tail, tailBytes, 0);
    let buf = new Uint8Array(paddedLength(head.length + tail.length + 32));
    writeAscii(head, buf, 0);
    return (middle) => {
      const n = head.length + middle.length + tail.length;
      if (paddedLength(n) > buf.length) {
        const grown = new Uint8Array(paddedLength(n));
        grown.set(buf.subarray(0, head.length));
        buf = grown;
      }
      writeAscii(middle, buf, head.length);
      buf.set(tailBytes, head.length + middle.length);
      this.hashFrom(start, prefix, buf, n);
      return base64url16(this.state);
    };
  }

  /** Leaves in `state` the HMAC of the `length` bytes at the start of `buf` (which has room for their padding). */
  private hash(buf: Uint8Array, length: number): void {
    this.hashFrom(this.inner, BLOCK, buf, length);
  }

  /**
   * Leaves in `state` the HMAC of a message whose first `prefix` bytes (the key block included) are hashed into the
   * inner state `start`, and whose other `length` bytes are at the start of `buf` (with room for their padding).
   */
  private hashFrom(start: Int32Array, prefix: number, buf: Uint8Array, length: number): void {
    const end = pad(buf, length, prefix);
    const state = this.state;
    state.set(start);
    for (let offset = 0; offset < end; offset += BLOCK) compress(state, buf, offset);
    // The outer hash's one block is the inner digest (W[0..7]) and its fixed padding: the words go in as they are.
    for (let i = 0; i < 8; i++) W[i] = state[i] as number;
    for (let i = 8; i < 16; i++) W[i] = OUTER_PADDING[i - 8] as number;
    state.set(this.outer);
    compressW(state);
  }
}
