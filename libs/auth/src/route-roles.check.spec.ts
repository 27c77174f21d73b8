import { Controller, Get } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Public } from '@tidegate/observability';
import { RequireRole } from './roles.decorator';
import { RouteRolesCheck } from './route-roles.check';

@Controller('declared')
class DeclaredController {
  @Get('a') @RequireRole('viewer') a() {}
  @Get('b') @Public() b() {}
}

@Controller('forgotten')
class ForgottenController {
  @Get('ok') @RequireRole('sre') ok() {}
  @Get('oops') oops() {}
}

@RequireRole('marketer')
@Controller('class-level')
class ClassLevelController {
  @Get() any() {}
}

async function boot(...controllers: Array<new () => unknown>) {
  const moduleRef = await Test.createTestingModule({ imports: [DiscoveryModule], controllers, providers: [RouteRolesCheck] }).compile();
  return moduleRef.init();
}

describe('RouteRolesCheck', () => {
  it('lets an app boot when every route declares a role or @Public', async () => {
    const app = await boot(DeclaredController, ClassLevelController);
    await app.close();
  });

  it('refuses to boot an app with a route that declares nothing, naming it', async () => {
    await expect(boot(DeclaredController, ForgottenController)).rejects.toThrow(/ForgottenController\.oops/);
  });
});
