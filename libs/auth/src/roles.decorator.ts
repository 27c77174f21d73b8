import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension, ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Role } from '@tidegate/contracts';

export const REQUIRED_ROLE = 'tidegate:required-role';

/**
 * Declares the least role an admin route needs (see `roleSatisfies`). Every admin route must carry this or
 * `@Public()`: the app refuses to boot otherwise. The OpenAPI operation carries the role as `x-required-role`
 * (test/e2e/openapi-auth.e2e-spec.ts walks every operation with it).
 */
export const RequireRole = (role: Role) =>
  applyDecorators(
    SetMetadata(REQUIRED_ROLE, role),
    ApiSecurity('api-key'),
    ApiExtension('x-required-role', role),
    ApiUnauthorizedResponse({ description: 'No API key, or an unknown or revoked one' }),
    ApiForbiddenResponse({ description: `The key's role is below ${role}` }),
  );
