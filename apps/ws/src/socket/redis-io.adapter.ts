import { Logger, type INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Server, ServerOptions } from 'socket.io';
import { closeRedisClient, createRedisClient, type RedisClient, type RedisConnectionOptions } from '@tidegate/redis';

/**
 * socket.io on the app's HTTP server with the Redis adapter, so an event for a room reaches its sockets on
 * every ws process. Uses its own publish and subscribe connections, closed with the server.
 */
export class RedisIoAdapter extends IoAdapter {
  private pub: RedisClient | undefined;
  private sub: RedisClient | undefined;

  constructor(
    app: INestApplicationContext,
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
    this.sub = createRedisClient(this.connection, { name: 'ws-sub', forBullmq: true, onEvent });
    const cors = this.corsOrigins.includes('*') ? { origin: true } : { origin: this.corsOrigins };
    const server = super.createIOServer(port, {
      ...options,
      path: options?.path ?? '/socket.io',
      cors,
      serveClient: false,
    } as ServerOptions);
    server.adapter(createAdapter(this.pub, this.sub, { key: `${this.keyPrefix}:socket.io` }));
    return server;
  }

  override async close(server: Server): Promise<void> {
    await super.close(server);
    const clients = [this.pub, this.sub].filter((c): c is RedisClient => c !== undefined);
    await Promise.all(clients.map((c) => closeRedisClient(c)));
  }
}
