import { Global, Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { closeRedisClient, createRedisClient, type RedisClient, type RedisConnectionOptions } from './connection';
import { RedisKeys } from './keys';

/** Injection token of the app's main Redis client (fail-fast, for requests and scripts). */
export const REDIS = Symbol('REDIS');
/** Injection token of the connection options, for code that must open its own connections (BullMQ, adapters). */
export const REDIS_CONNECTION = Symbol('REDIS_CONNECTION');

export interface RedisModuleOptions extends RedisConnectionOptions {
  keyPrefix: string;
  /** Connection name suffix, e.g. the app's name. */
  name: string;
}

@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await closeRedisClient(this.redis);
  }
}

@Global()
@Module({})
export class RedisModule {
  static forRoot(options: RedisModuleOptions): DynamicModule {
    const connection: RedisConnectionOptions = { url: options.url, clusterNodes: options.clusterNodes };
    return {
      module: RedisModule,
      providers: [
        { provide: REDIS_CONNECTION, useValue: connection },
        {
          provide: REDIS,
          useFactory: () => {
            const logger = new Logger('Redis');
            return createRedisClient(connection, { name: options.name, onEvent: (m) => logger.warn(m) });
          },
        },
        { provide: RedisKeys, useValue: new RedisKeys(options.keyPrefix) },
        RedisLifecycle,
      ],
      exports: [REDIS, REDIS_CONNECTION, RedisKeys],
    };
  }
}
