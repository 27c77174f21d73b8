import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'tidegate:public';

/** Marks a route as open to anyone: health, metrics and the end users' routes. Admin routes declare a role instead. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
