export * from './latency-histogram';
export * from './origin-health';
