export * from './api-key';
export * from './api-key.guard';
export * from './roles.decorator';
export * from './auth.module';
export * from './admin-response-headers';
export * from './verified-key-cache';
