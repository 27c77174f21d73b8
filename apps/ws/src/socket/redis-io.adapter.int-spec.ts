/**
 * The ws app's socket.io adapter between two servers (two adapters, each with its own Redis connections, as two ws
 * processes have) on the test Redis: standalone, and on the Cluster tier a 6-node Cluster, where the rooms' sharded
 * channels land on different shards. An emit on one server reaches the sockets held by the other: to a room, to one
 * socket id; and fetchSockets (a request and its replies) sees both servers' sockets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster } from 'ioredis';
import type { Server } from 'socket.io';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { redisConnection } from '../../../../test/support/env';
import { waitFor } from '../../../../test/support/processes';
import { createTestRedis, type TestRedis } from '../../../../test/support/redis';
import { RedisIoAdapter } from './redis-io.adapter';

interface Side {
  adapter: RedisIoAdapter;
  server: Server;
  url: string;
}

const ROOMS = Array.from({ length: 12 }, (_, i) => `room-${i}`);

describe('the socket.io adapter across ws processes (sharded Pub/Sub)', () => {
  let redis: TestRedis;
  let a: Side;
  let b: Side;
  const clients: ClientSocket[] = [];

  /** A socket.io server as the ws app builds it; a client's `auth.rooms` are joined on connection. */
  async function side(): Promise<Side> {
    const httpServer = http.createServer();
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const adapter = new RedisIoAdapter(httpServer, redisConnection(), redis.prefix, ['*']);
    const server = adapter.createIOServer(0);
    server.on('connection', (socket) => {
      const rooms = (socket.handshake.auth as { rooms?: string[] }).rooms ?? [];
      void socket.join(rooms);
    });
    return { adapter, server, url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}` };
  }

  const channel = (room?: string) => `${redis.prefix}:socket.io#/#${room === undefined ? '' : `${room}#`}`;

  /** Subscribers of a sharded channel, counted on every master (each answers for its own slots). */
  async function subscribers(name: string): Promise<number> {
    const nodes = redis.client instanceof Cluster ? redis.client.nodes('master') : [redis.client];
    let sum = 0;
    for (const node of nodes) {
      const reply = (await node.call('PUBSUB', 'SHARDNUMSUB', name)) as [string, number];
      sum += Number(reply[1]);
    }
    return sum;
  }

  function connect(to: Side, rooms: string[]): Promise<ClientSocket> {
    const client = io(to.url, { auth: { rooms }, transports: ['websocket'], reconnection: false, forceNew: true });
    clients.push(client);
    return new Promise((resolve, reject) => {
      client.once('connect', () => resolve(client));
      client.once('connect_error', reject);
    });
  }

  beforeAll(async () => {
    redis = await createTestRedis();
    [a, b] = await Promise.all([side(), side()]);
    await waitFor(async () => (await subscribers(channel())) === 2, 10_000, 'both servers to subscribe to the namespace channel');
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of [a, b]) if (s) await s.adapter.close(s.server);
    await redis?.cleanup();
  });

  it('subscribes no channel per socket: 20 sockets without rooms leave the namespace and the two reply channels', async () => {
    await Promise.all(Array.from({ length: 20 }, () => connect(b, [])));
    const nodes = redis.client instanceof Cluster ? redis.client.nodes('master') : [redis.client];
    const channels: string[] = [];
    for (const node of nodes) channels.push(...((await node.call('PUBSUB', 'SHARDCHANNELS', `${redis.prefix}:socket.io#*`)) as string[]));
    expect(channels).toHaveLength(3);
    expect(channels).toContain(channel());
  });

  it('delivers an emit to a room from one server to the sockets the other one holds, rooms spread over the shards', async () => {
    const client = await connect(b, ROOMS);
    for (const room of ROOMS)
      await waitFor(async () => (await subscribers(channel(room))) === 1, 10_000, `server B to subscribe to ${room}`);
    if (redis.client instanceof Cluster) {
      const cluster = redis.client;
      const owners = new Set(
        await Promise.all(ROOMS.map(async (room) => cluster.slots[Number(await cluster.cluster('KEYSLOT', channel(room)))]?.[0])),
      );
      expect(owners.size).toBeGreaterThan(1);
    }
    const heard: string[] = [];
    client.on('hello', (room: string) => heard.push(room));
    for (const room of ROOMS) a.server.to(room).emit('hello', room);
    await waitFor(() => heard.length === ROOMS.length, 10_000, 'every room emit to arrive');
    expect(heard.sort()).toEqual([...ROOMS].sort());
  });

  it('delivers an emit to one socket id held by the other server, and only to it', async () => {
    const [target, other] = await Promise.all([connect(b, []), connect(b, [])]);
    const heard: string[] = [];
    target.on('direct', (m: string) => heard.push(`target:${m}`));
    other.on('direct', (m: string) => heard.push(`other:${m}`));
    a.server.to(target.id as string).emit('direct', 'one');
    a.server.to(target.id as string).emit('direct', 'two');
    await waitFor(() => heard.length === 2, 10_000, 'both emits to arrive');
    expect(heard).toEqual(['target:one', 'target:two']);
  });

  it("answers fetchSockets with both servers' sockets (a request and the other server's reply)", async () => {
    const [onA, onB] = await Promise.all([connect(a, ['fetch-room']), connect(b, ['fetch-room'])]);
    await waitFor(async () => (await subscribers(channel('fetch-room'))) === 2, 10_000, 'both servers to subscribe to fetch-room');
    const found = await a.server.in('fetch-room').fetchSockets();
    expect(found.map((s) => s.id).sort()).toEqual([onA.id, onB.id].sort());
  });
});
