import { type NotificationPayload } from './payload';
import { SinkProvider } from './sink';
import { type PushMessage } from './types';

const payload: NotificationPayload = { title: 't', body: 'b' };
const message = (i: number, platform: 'fcm' | 'apns' | 'webpush' = 'fcm'): PushMessage => ({
  deviceId: String(i),
  target:
    platform === 'webpush'
      ? { platform, subscription: { endpoint: 'https://push.example/x', keys: { p256dh: 'p', auth: 'a' } } }
      : { platform, token: `t${i}` },
  payload,
});

describe('SinkProvider', () => {
  it('accepts every message, in order, and counts them per platform', async () => {
    const sink = new SinkProvider();
    const results = await sink.send([message(1), message(2, 'apns'), message(3, 'webpush')]);
    expect(results).toEqual([
      { deviceId: '1', outcome: 'sent' },
      { deviceId: '2', outcome: 'sent' },
      { deviceId: '3', outcome: 'sent' },
    ]);
    await sink.send([message(4)]);
    expect(sink.stats()).toEqual({
      batches: 2,
      messages: 4,
      byPlatform: { fcm: 2, apns: 1, webpush: 1 },
      forwarded: 0,
      forwardFailures: 0,
    });
    expect(sink.lastMessages()).toEqual([]);
  });

  it('keeps the last N messages, oldest first', async () => {
    const sink = new SinkProvider({ keepLast: 3 });
    await sink.send([1, 2, 3, 4, 5].map((i) => message(i)));
    await sink.send([message(6)]);
    expect(sink.lastMessages().map((m) => m.deviceId)).toEqual(['4', '5', '6']);
    sink.reset();
    expect(sink.stats().messages).toBe(0);
    expect(sink.lastMessages()).toEqual([]);
  });

  it('shows a kept message as its device gets it: the payload carrying its wave ticket', async () => {
    const sink = new SinkProvider({ keepLast: 2 });
    const shared: NotificationPayload = { title: 't', body: 'b', deepLink: 'https://shop.example/s#top' };
    await sink.send([1, 2].map((i) => ({ ...message(i), payload: shared, ticket: `ticket-${i}` })));
    expect(sink.lastMessages().map((m) => [m.deviceId, m.payload.data?.tg_wave, m.payload.deepLink])).toEqual([
      ['1', 'ticket-1', 'https://shop.example/s?tg_wave=ticket-1#top'],
      ['2', 'ticket-2', 'https://shop.example/s?tg_wave=ticket-2#top'],
    ]);
    expect(shared).toEqual({ title: 't', body: 'b', deepLink: 'https://shop.example/s#top' });
  });

  it('waits its artificial latency before answering', async () => {
    const sink = new SinkProvider({ latencyMs: 30 });
    const started = performance.now();
    await sink.send([message(1)]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('refuses to send once closed', async () => {
    const sink = new SinkProvider();
    await sink.close();
    await expect(sink.send([message(1)])).rejects.toThrow(/closed/);
  });
});
