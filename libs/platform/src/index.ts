export * from './http-app';
export * from './openapi';
export * from './json-depth';
export * from './internal-server';
