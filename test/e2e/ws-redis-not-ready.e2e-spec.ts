/**
 * The ws app's handshake while its Redis connection is not ready yet (the process just started, or Redis is coming
 * back): the handshake waits for Redis, a bounded while, instead of refusing a user the app could place a moment
 * later. Redis is reached through a TCP proxy the test stops and starts; the shared Redis is never touched.
 */
import { io, type Socket } from 'socket.io-client';
import { AdmissionStore, TicketSigner } from '@tidegate/admission';
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomConfigStore } from '@tidegate/redis';
import { startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { admissionEnv, testEnv } from '../support/env';
import { waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

interface Attempt {
  /** Settles with the socket once connected, or the refusal's reason. */
  result: Promise<{ socket?: Socket; refused?: string }>;
  events: string[];
}

function connect(url: string, auth: Record<string, unknown>): Attempt {
  const events: string[] = [];
  const socket: Socket = io(url, { auth, transports: ['websocket'], reconnection: false, timeout: 20_000 });
  socket.onAny((event: string) => events.push(event));
  const result = new Promise<{ socket?: Socket; refused?: string }>((resolve) => {
    socket.on('connect', () => resolve({ socket }));
    socket.on('connect_error', (err: Error & { data?: { reason?: string } }) => {
      socket.disconnect();
      resolve({ refused: err.data?.reason ?? err.message });
    });
  });
  return { result, events };
}

/** The value of a gauge without labels of its own (the registry's default label aside) on a /metrics page; 0 when absent. */
async function gauge(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('ws handshakes while Redis is not ready', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let proxy: TcpProxy;
  let ws: RunningApp | undefined;
  const signer = new TicketSigner(admissionEnv().TICKET_SECRET!);

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    await new RoomConfigStore(redis.client, redis.keys).write('shop', {
      ...ROOM_DEFAULTS,
      totalActiveUsers: 1,
      newUsersPerMinute: 600_000,
    });
    const target = new URL(testEnv.redisUrl);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  });

  afterEach(async () => {
    await ws?.close();
    ws = undefined;
  });

  afterAll(async () => {
    await proxy?.stop();
    await redis?.cleanup();
    await db?.drop();
  });

  /** A real place in line: the room is full, so the arrival gets a ticket. */
  async function ticket(): Promise<string> {
    const store = new AdmissionStore(redis.client, redis.keys, { graceMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      const r = await store.arrive('shop');
      if (r.kind === 'ticket') return signer.sign({ roomId: 'shop', number: r.ticket, issuedAt: r.issuedAt });
    }
    throw new Error('no ticket after 10 arrivals');
  }

  /** A ws process started while its Redis is unreachable (its main connection is not ready). */
  async function startWithRedisDown(): Promise<RunningApp> {
    await proxy.stop();
    ws = await startWs({ databaseUrl: db.url, redisPrefix: redis.prefix, extra: { REDIS_URL: proxy.rewrite(testEnv.redisUrl) } });
    return ws;
  }

  it('holds a handshake that arrives before Redis is ready, then places the socket once Redis answers', async () => {
    const t = await ticket();
    const app = await startWithRedisDown();
    const attempt = connect(app.url, { ticket: t, room: 'shop' });
    // The handshake reached the app and waits for Redis (not refused on the spot).
    const endedEarly = attempt.result.then((r) =>
      Promise.reject(new Error(`the handshake ended before Redis was back: ${JSON.stringify(r)}`)),
    );
    endedEarly.catch(() => undefined); // observed by the race below; once Redis is back it ends, as it should
    await Promise.race([
      endedEarly,
      waitFor(
        async () => (await gauge(`${app.internalUrl}/metrics`, 'tidegate_ws_handshakes_waiting_for_redis')) === 1,
        10_000,
        'the handshake to wait for Redis',
      ),
    ]);
    await proxy.start();
    const { socket, refused } = await attempt.result;
    try {
      expect(refused).toBeUndefined();
      await waitFor(() => attempt.events.includes('position.v1'), 10_000, 'the first position');
    } finally {
      socket?.disconnect();
    }
  });

  it('refuses with unavailable, not a hang, when Redis stays out of reach', async () => {
    const t = await ticket();
    const app = await startWithRedisDown();
    try {
      const { socket, refused } = await connect(app.url, { ticket: t, room: 'shop' }).result;
      socket?.disconnect();
      expect(refused).toBe('unavailable');
    } finally {
      await proxy.start();
    }
  });
});
