export * from './connection';
export * from './keys';
export * from './redis.module';
