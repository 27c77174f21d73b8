export * from './connection';
export * from './keys';
export * from './redis.module';
export * from './room-config';
export * from './scripts';
export * from './dispatch-store';
export * from './campaign-stats';
export * from './campaign-activity';
