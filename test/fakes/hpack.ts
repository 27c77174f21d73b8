/**
 * A small HPACK decoder (RFC 7541) for tests that must see the header bytes a client really put on the wire, not
 * what a server library made of them (node:http2 drops or refuses invalid values before a handler sees them).
 * Values come back as raw bytes; names as latin1 text. Decodes indexed fields, the three literal forms, dynamic
 * table size updates, and Huffman-coded strings; throws HpackError on anything malformed.
 */

export class HpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HpackError';
  }
}

export interface HeaderField {
  name: string;
  value: Buffer;
}

/** RFC 7541 Appendix A: the static table, indices 1-61. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/**
 * RFC 7541 Appendix B gives a canonical Huffman code, so the bit length of each symbol (0-255, then EOS) fixes every
 * code: codes are handed out in order of length, then symbol.
 */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10,
  12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7,
  7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22,
  23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22,
  23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20,
  24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const EOS = 256;

/** For each bit length, code → symbol. */
const HUFFMAN: ReadonlyArray<ReadonlyMap<number, number>> = (() => {
  const byLength = Array.from({ length: 31 }, () => new Map<number, number>());
  const order = CODE_LENGTHS.map((length, symbol) => ({ length, symbol })).sort((a, b) => a.length - b.length || a.symbol - b.symbol);
  let code = 0;
  let length = order[0]!.length;
  for (const entry of order) {
    code <<= entry.length - length;
    length = entry.length;
    byLength[length]!.set(code, entry.symbol);
    code++;
  }
  return byLength;
})();

export function huffmanDecode(input: Buffer): Buffer {
  const out: number[] = [];
  let code = 0;
  let length = 0;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      length++;
      const symbol = HUFFMAN[length]?.get(code);
      if (symbol === EOS) throw new HpackError('EOS inside a Huffman-coded string');
      if (symbol !== undefined) {
        out.push(symbol);
        code = 0;
        length = 0;
      } else if (length > 30) {
        throw new HpackError('invalid Huffman code');
      }
    }
  }
  // Padding: the most significant bits of EOS (all ones), at most 7 of them.
  if (length > 7 || code !== (1 << length) - 1) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out);
}

/** One connection's decoder: the dynamic table lives across header blocks. */
export class HpackDecoder {
  private dynamic: Array<{ name: string; value: Buffer }> = [];
  private maxSize = 4096;

  decode(block: Buffer): HeaderField[] {
    const fields: HeaderField[] = [];
    let pos = 0;
    const integer = (prefixBits: number): number => {
      const max = (1 << prefixBits) - 1;
      if (pos >= block.length) throw new HpackError('truncated integer');
      let value = block[pos++]! & max;
      if (value < max) return value;
      for (let shift = 0; shift <= 28; shift += 7) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        const byte = block[pos++]!;
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) return value;
      }
      throw new HpackError('integer too large');
    };
    const string = (): Buffer => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huffman = (block[pos]! & 0x80) !== 0;
      const length = integer(7);
      if (pos + length > block.length) throw new HpackError('truncated string');
      const raw = block.subarray(pos, pos + length);
      pos += length;
      return huffman ? huffmanDecode(raw) : Buffer.from(raw);
    };
    while (pos < block.length) {
      const first = block[pos]!;
      if (first & 0x80) {
        const entry = this.entry(integer(7));
        fields.push({ name: entry.name, value: Buffer.from(entry.value) });
      } else if ((first & 0xe0) === 0x20) {
        this.maxSize = integer(5);
        this.evict(0);
      } else {
        const indexing = (first & 0xc0) === 0x40;
        const index = integer(indexing ? 6 : 4);
        const name = index === 0 ? string().toString('latin1') : this.entry(index).name;
        const value = string();
        fields.push({ name, value });
        if (indexing) this.add(name, value);
      }
    }
    return fields;
  }

  private entry(index: number): { name: string; value: Buffer | string } {
    if (index >= 1 && index <= STATIC_TABLE.length) {
      const [name, value] = STATIC_TABLE[index - 1]!;
      return { name, value };
    }
    const entry = this.dynamic[index - STATIC_TABLE.length - 1];
    if (!entry) throw new HpackError(`no table entry ${index}`);
    return entry;
  }

  private add(name: string, value: Buffer): void {
    const size = name.length + value.length + 32;
    this.evict(size);
    if (size <= this.maxSize) this.dynamic.unshift({ name, value });
  }

  private evict(room: number): void {
    let size = this.dynamic.reduce((sum, e) => sum + e.name.length + e.value.length + 32, 0);
    while (size + room > this.maxSize && this.dynamic.length > 0) {
      const last = this.dynamic.pop()!;
      size -= last.name.length + last.value.length + 32;
    }
  }
}
