import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

export const IS_PUBLIC = 'tidegate:public';

/**
 * Marks a route as open to anyone: health, metrics and the end users' routes. Admin routes declare a role instead.
 * The OpenAPI operation says so with `x-public: true`.
 */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension('x-public', true));
