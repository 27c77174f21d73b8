import type { Server as HttpServer } from 'node:http';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { Server, ServerOptions } from 'socket.io';
import { closeRedisClient, createRedisClient, type RedisClient, type RedisConnectionOptions } from '@tidegate/redis';
import { LeanIoAdapter } from './lean-io.adapter';

/**
 * socket.io on the app's HTTP server with the sharded Redis adapter (SPUBLISH/SSUBSCRIBE, Redis 7+), so an event
 * emitted to a socket.io room, a socket id or the whole server reaches its sockets on every ws process. Sharded
 * rather than classic Pub/Sub because on a Cluster a PUBLISH is copied to every node, a SPUBLISH only within the shard
 * owning its channel. `dynamic` mode: one channel per socket.io room (spread over the shards by their slots, heard
 * only by the processes with sockets in that room), and one per namespace for the rest (socket ids, server-wide
 * emits, fetchSockets' requests), never one channel per socket. Channels start with the deployment's key prefix.
 * Its own publish and subscribe connections, closed with the server. See docs/architecture.md, "socket.io on Cluster".
 * Message handlers are bound the lean way (LeanIoAdapter: no RxJS pipeline per socket).
 */
export class RedisIoAdapter extends LeanIoAdapter {
  private pub: RedisClient | undefined;
  private sub: RedisClient | undefined;

  constructor(
    app: INestApplicationContext | HttpServer,
    private readonly connection: RedisConnectionOptions,
    private readonly keyPrefix: string,
    private readonly corsOrigins: string[],
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const logger = new Logger('SocketAdapter');
    const onEvent = (m: string) => logger.warn(m);
    this.pub = createRedisClient(this.connection, { name: 'ws-pub', forBullmq: true, onEvent });
    this.sub = handleSubscriptionFailures(
      createRedisClient(this.connection, { name: 'ws-sub', forBullmq: true, onEvent, shardedPubSub: true }),
      (m) => logger.debug(m),
    );
    const cors = this.corsOrigins.includes('*') ? { origin: true } : { origin: this.corsOrigins };
    const server = super.createIOServer(port, {
      ...options,
      path: options?.path ?? '/socket.io',
      cors,
      serveClient: false,
    } as ServerOptions);
    server.adapter(createShardedAdapter(this.pub, this.sub, { channelPrefix: `${this.keyPrefix}:socket.io`, subscriptionMode: 'dynamic' }));
    return server;
  }

  override async close(server: Server): Promise<void> {
    await super.close(server);
    const clients = [this.pub, this.sub].filter((c): c is RedisClient => c !== undefined);
    await Promise.all(clients.map((c) => closeRedisClient(c)));
  }
}

/**
 * The sharded adapter sends SSUBSCRIBE and SUNSUBSCRIBE without awaiting them. They wait for Redis while it is out of
 * reach, and fail when the connection is closed first (the app stopping during an outage, or right after starting
 * before Redis answered): an unhandled rejection each. Here each gets a handler that reports the failure, which is
 * expected then (the subscriptions go with the connection; a reconnect resubscribes).
 */
function handleSubscriptionFailures(client: RedisClient, report: (message: string) => void): RedisClient {
  const commands = client as unknown as Record<'ssubscribe' | 'sunsubscribe', (...args: unknown[]) => Promise<unknown>>;
  for (const name of ['ssubscribe', 'sunsubscribe'] as const) {
    const send = commands[name].bind(client);
    commands[name] = (...args: unknown[]) => {
      const reply = send(...args);
      reply.catch((err: unknown) => report(`${name} failed: ${err instanceof Error ? err.message : String(err)}`));
      return reply;
    };
  }
  return client;
}
