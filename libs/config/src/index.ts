export * from './load-config';
export * from './partitions';
export * from './schemas';
export * from './start-schema';
