export * from './open-model';
export * from './room-flow';
export * from './arrivals';
export * from './forecast';
export * from './pacing';
export * from './eta';
