export * from './http-app';
export * from './openapi';
