export * from './http-app';
export * from './openapi';
export * from './json-depth';
export * from './internal-server';
export * from './early-request-hook';
