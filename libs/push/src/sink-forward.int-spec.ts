/**
 * The sink's forward (SINK_FORWARD_URL): each batch reaches an HTTP endpoint on loopback as one JSON request with
 * every message's device, platform, wave ticket and deep link; an endpoint that fails or does not answer in time
 * never fails the send.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SinkProvider, type ForwardedPush, type SinkForwardBody } from './sink';
import { type PushMessage } from './types';

interface Endpoint {
  url: string;
  bodies: SinkForwardBody[];
  close(): Promise<void>;
}

/** A loopback endpoint answering `status` (or never answering, for `hang`) and keeping what it received. */
async function endpoint(behaviour: { status?: number; hang?: boolean } = {}): Promise<Endpoint> {
  const bodies: SinkForwardBody[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text) as SinkForwardBody);
      if (behaviour.hang) return;
      res.writeHead(behaviour.status ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pushes`,
    bodies,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const withoutTime = ({ sentAt: _sentAt, ...rest }: ForwardedPush) => rest;

// As the batch sender sends them: one payload for the batch, each message its ticket.
const sale = { title: 'Sale', body: 'Now', deepLink: 'https://shop.example/sale' };
const ticketed = (i: number, platform: 'fcm' | 'apns'): PushMessage => ({
  deviceId: String(i),
  target: { platform, token: `t${i}` },
  payload: sale,
  ticket: `wave-ticket-${i}`,
});

describe('SinkProvider forwarding', () => {
  it('POSTs each batch as one JSON request: device, platform, wave ticket, deep link, sent-at', async () => {
    const target = await endpoint();
    const sink = new SinkProvider({ forwardUrl: target.url });
    try {
      const before = Date.now();
      const results = await sink.send([ticketed(1, 'fcm'), ticketed(2, 'apns')]);
      await sink.send([{ deviceId: '3', target: { platform: 'fcm', token: 't3' }, payload: { title: 'Plain', body: 'No ticket' } }]);
      expect(results.map((r) => r.outcome)).toEqual(['sent', 'sent']);
      expect(target.bodies).toHaveLength(2);
      const [first, second] = target.bodies as [SinkForwardBody, SinkForwardBody];
      expect(first.messages.map(withoutTime)).toEqual([
        {
          deviceId: '1',
          platform: 'fcm',
          waveTicket: 'wave-ticket-1',
          deepLink: 'https://shop.example/sale?tg_wave=wave-ticket-1',
        },
        {
          deviceId: '2',
          platform: 'apns',
          waveTicket: 'wave-ticket-2',
          deepLink: 'https://shop.example/sale?tg_wave=wave-ticket-2',
        },
      ]);
      expect(second.messages.map(withoutTime)).toEqual([{ deviceId: '3', platform: 'fcm', waveTicket: null, deepLink: null }]);
      expect(first.messages.every((m) => m.sentAt >= before && m.sentAt <= Date.now())).toBe(true);
      expect(sink.stats()).toMatchObject({ batches: 2, messages: 3, forwarded: 2, forwardFailures: 0 });
    } finally {
      await target.close();
    }
  });

  it('a forward answered with an error, refused, or not answered in time is reported, and the messages are still sent', async () => {
    const failing = await endpoint({ status: 500 });
    const hanging = await endpoint({ hang: true });
    const closed = await endpoint();
    await closed.close();
    const errors: string[] = [];
    const onForwardError = (error: Error, messages: number) => errors.push(`${messages}: ${error.message}`);
    try {
      for (const url of [failing.url, hanging.url, closed.url]) {
        const sink = new SinkProvider({ forwardUrl: url, forwardTimeoutMs: 300, onForwardError });
        expect((await sink.send([ticketed(1, 'fcm')])).map((r) => r.outcome)).toEqual(['sent']);
        expect(sink.stats()).toMatchObject({ messages: 1, forwarded: 0, forwardFailures: 1 });
      }
      expect(errors[0]).toBe('1: the forward URL answered 500');
      expect(errors[1]).toBe('1: no answer within 300 ms');
      expect(errors[2]).toMatch(/^1: /);
      expect(hanging.bodies).toHaveLength(1);
    } finally {
      await Promise.all([failing.close(), hanging.close()]);
    }
  });

  it('refuses a forward URL that is not http(s), or a timeout that is not a positive whole number', () => {
    expect(() => new SinkProvider({ forwardUrl: 'ftp://127.0.0.1/x' })).toThrow('forwardUrl must be an absolute http(s) URL');
    expect(() => new SinkProvider({ forwardUrl: 'pushes' })).toThrow('forwardUrl must be an absolute http(s) URL');
    expect(() => new SinkProvider({ forwardUrl: 'http://127.0.0.1/x', forwardTimeoutMs: 0 })).toThrow('forwardTimeoutMs');
  });
});
