export * from './pg-adapter';
export * from './prisma.service';
export * from './database.module';
export * from './api-key.repository';
export * from './room.repository';
export { Prisma } from '@prisma/client';
export type { ApiKey, Role, Room, Campaign, Device } from '@prisma/client';
