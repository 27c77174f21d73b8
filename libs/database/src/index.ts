export * from './pg-adapter';
export * from './prisma.service';
export * from './database.module';
export * from './api-key.repository';
export * from './room.repository';
export * from './device.repository';
export * from './segment';
export { Prisma } from '@prisma/client';
export type { ApiKey, Role, Room, Campaign, Device } from '@prisma/client';
