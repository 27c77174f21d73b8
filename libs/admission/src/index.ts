export * from './admission-results';
export * from './admission-store';
export * from './admission-tokens';
export * from './eta';
export * from './room-snapshot-store';
export * from './tickets';
export * from './wave-tickets';
