export * from './admission-store';
export * from './admission-tokens';
export * from './eta';
export * from './tickets';
