/**
 * Reading an upload line by line with bounded memory: a line splitter over a byte stream (a line longer than the
 * limit is reported and skipped, never buffered whole), and a CSV line parser (RFC 4180 quoting within one line).
 * Device data never contains a newline, so a quoted field may not span lines: such a row is reported, not joined.
 */
import { StringDecoder } from 'node:string_decoder';

export interface Line {
  /** 1-based line number in the upload. */
  number: number;
  text: string;
  /** The line was longer than the limit: `text` is empty and the row must be rejected. */
  tooLong?: boolean;
}

/** Splits a byte stream into lines (LF or CRLF; a UTF-8 BOM at the start is dropped). */
export async function* readLines(source: AsyncIterable<Buffer | string>, maxLength: number): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let number = 0;
  let skipping = false;
  let first = true;
  const emit = (text: string): Line => {
    number++;
    if (skipping) {
      skipping = false;
      return { number, text: '', tooLong: true };
    }
    return { number, text: text.endsWith('\r') ? text.slice(0, -1) : text };
  };
  for await (const chunk of source) {
    buffer += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (first && buffer.length > 0) {
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
      first = false;
    }
    let start = 0;
    let nl: number;
    while ((nl = buffer.indexOf('\n', start)) !== -1) {
      const text = buffer.slice(start, nl);
      start = nl + 1;
      if (!skipping && text.length > maxLength) skipping = true;
      yield emit(text);
    }
    buffer = buffer.slice(start);
    if (buffer.length > maxLength) {
      skipping = true;
      buffer = '';
    }
  }
  buffer += decoder.end();
  if (buffer.length > maxLength) skipping = true;
  if (buffer.length > 0 || skipping) yield emit(buffer);
}

/** The fields of one CSV line, or an error message. `"` quotes a field; `""` inside quotes is one `"`. */
export function parseCsvLine(line: string): string[] | { error: string } {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q === -1) return { error: 'a quoted field is not closed on this line (fields may not span lines)' };
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') return { error: `a quoted field must be followed by a comma (column ${i + 1})` };
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const value = comma === -1 ? line.slice(i) : line.slice(i, comma);
      if (value.includes('"')) return { error: 'a field containing " must be quoted, with " doubled ("")' };
      fields.push(value);
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}
