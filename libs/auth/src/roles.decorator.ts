import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Role } from '@tidegate/contracts';

export const REQUIRED_ROLE = 'tidegate:required-role';

/**
 * Declares the least role an admin route needs (see `roleSatisfies`). Every admin route must carry this or
 * `@Public()`: the app refuses to boot otherwise.
 */
export const RequireRole = (role: Role) =>
  applyDecorators(
    SetMetadata(REQUIRED_ROLE, role),
    ApiSecurity('api-key'),
    ApiUnauthorizedResponse({ description: 'No API key, or an unknown or revoked one' }),
    ApiForbiddenResponse({ description: `The key's role is below ${role}` }),
  );
