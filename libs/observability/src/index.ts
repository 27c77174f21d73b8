export * from './public.decorator';
export * from './health';
export * from './metrics';
export * from './logging';
