/**
 * A bare HTTP/2 server on a plain TCP socket (h2c with prior knowledge) that decodes each request's header block
 * itself (./hpack.ts) and keeps every header value as the bytes that arrived, then answers 200. node:http2 cannot
 * show those bytes: nghttp2 refuses a value with NUL, CR or LF (resetting the stream) and drops other invalid ones
 * before a handler sees them. For tests of what a client really sends; it checks nothing else.
 */
import net, { type AddressInfo, type Socket } from 'node:net';
import { type HeaderField, HpackDecoder } from './hpack';

export interface RawRequest {
  /** Which connection (1 for the first) and stream it came on. */
  connection: number;
  streamId: number;
  /** In the order they arrived, values as raw bytes. */
  fields: HeaderField[];
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
/** `:status: 200` as an HPACK indexed field (static index 8). */
const STATUS_200 = Buffer.from([0x88]);

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment, 0);
  return frame(FRAME.WINDOW_UPDATE, 0, streamId, payload);
}

export class RawHttp2Server {
  readonly requests: RawRequest[] = [];
  /** Header blocks that could not be decoded (the connection was closed). */
  readonly errors: Error[] = [];
  private readonly sockets = new Set<Socket>();
  private connections = 0;

  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<RawHttp2Server> {
    const ref: { raw?: RawHttp2Server } = {};
    const server = net.createServer((socket) => ref.raw!.accept(socket));
    ref.raw = new RawHttp2Server(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return ref.raw;
  }

  /** `http://127.0.0.1:port`. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const connection = ++this.connections;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const decoder = new HpackDecoder();
    let buffer = Buffer.alloc(0);
    let prefaceSeen = false;
    /** A header block split over HEADERS and CONTINUATION frames. */
    let pending: { streamId: number; fragments: Buffer[]; endStream: boolean } | undefined;
    socket.write(frame(FRAME.SETTINGS, 0, 0));

    const respond = (streamId: number) => socket.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, streamId, STATUS_200));
    const headerBlock = (streamId: number, block: Buffer, endStream: boolean) => {
      this.requests.push({ connection, streamId, fields: decoder.decode(block) });
      if (endStream) respond(streamId);
    };
    const onFrame = (type: number, flags: number, streamId: number, payload: Buffer) => {
      if (type === FRAME.SETTINGS && !(flags & FLAG.ACK)) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      else if (type === FRAME.PING && !(flags & FLAG.ACK)) socket.write(frame(FRAME.PING, FLAG.ACK, 0, payload));
      else if (type === FRAME.HEADERS) {
        let start = 0;
        let end = payload.length;
        if (flags & FLAG.PADDED) end -= payload[start++]!;
        if (flags & FLAG.PRIORITY) start += 5;
        const fragment = payload.subarray(start, end);
        const endStream = (flags & FLAG.END_STREAM) !== 0;
        if (flags & FLAG.END_HEADERS) headerBlock(streamId, fragment, endStream);
        else pending = { streamId, fragments: [fragment], endStream };
      } else if (type === FRAME.CONTINUATION && pending?.streamId === streamId) {
        pending.fragments.push(payload);
        if (flags & FLAG.END_HEADERS) {
          const { fragments, endStream } = pending;
          pending = undefined;
          headerBlock(streamId, Buffer.concat(fragments), endStream);
        }
      } else if (type === FRAME.DATA) {
        if (payload.length > 0) socket.write(Buffer.concat([windowUpdate(0, payload.length), windowUpdate(streamId, payload.length)]));
        if (flags & FLAG.END_STREAM) respond(streamId);
      }
    };

    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        if (!prefaceSeen) {
          if (buffer.length < PREFACE.length) return;
          if (!buffer.subarray(0, PREFACE.length).equals(PREFACE)) throw new Error('not an HTTP/2 client preface');
          prefaceSeen = true;
          buffer = buffer.subarray(PREFACE.length);
        }
        while (buffer.length >= 9) {
          const length = buffer.readUIntBE(0, 3);
          if (buffer.length < 9 + length) return;
          const payload = buffer.subarray(9, 9 + length);
          onFrame(buffer[3]!, buffer[4]!, buffer.readUInt32BE(5) & 0x7fffffff, payload);
          buffer = buffer.subarray(9 + length);
        }
      } catch (err) {
        this.errors.push(err as Error);
        socket.destroy();
      }
    });
  }
}
