export * from './load-config';
export * from './schemas';
export * from './start-schema';
