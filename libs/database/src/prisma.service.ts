import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaClient } from '@prisma/client';
import { TidegatePgAdapter, type PgAdapterOptions } from './pg-adapter';

/**
 * The Prisma client, connected through the pg driver adapter (no native query engine). Connections are opened
 * lazily by the pool, so an app boots while PostgreSQL is down and readiness reports it.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(options: PgAdapterOptions) {
    super({ adapter: new TidegatePgAdapter(options) });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}
