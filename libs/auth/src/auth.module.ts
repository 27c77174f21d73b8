import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { RouteRolesCheck } from './route-roles.check';

/** Admin API authentication: import once in an app whose routes are admin routes (by default). */
@Module({
  imports: [DiscoveryModule],
  providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }, RouteRolesCheck],
})
export class AdminAuthModule {}
