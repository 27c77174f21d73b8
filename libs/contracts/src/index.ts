export * from './roles';
export * from './queues';
export * from './socket-events';
export * from './rooms';
export * from './wave-tickets';
