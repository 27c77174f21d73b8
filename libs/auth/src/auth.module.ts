import { Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { adminResponseHeaders } from './admin-response-headers';
import { ApiKeyGuard } from './api-key.guard';
import { RouteRolesCheck } from './route-roles.check';
import { VerifiedKeyCache } from './verified-key-cache';

/**
 * Admin API authentication: import once in an app whose routes are admin routes (by default). Every answer of such
 * an app is marked no-store and nosniff (see admin-response-headers.ts).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }, RouteRolesCheck, VerifiedKeyCache],
  exports: [VerifiedKeyCache],
})
export class AdminAuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(adminResponseHeaders).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}
