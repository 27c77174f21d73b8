import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaClient } from '@prisma/client';
import type pg from 'pg';
import { TidegatePgAdapter, type PgAdapterOptions } from './pg-adapter';

/**
 * The Prisma client, connected through the pg driver adapter (no native query engine). Connections are opened
 * lazily by the pool, so an app boots while PostgreSQL is down and readiness reports it.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  private readonly pgAdapter: TidegatePgAdapter;

  constructor(options: PgAdapterOptions) {
    const adapter = new TidegatePgAdapter(options);
    super({ adapter });
    this.pgAdapter = adapter;
  }

  /**
   * The `pg` pool Prisma's queries go through (connecting first if need be): a hot path that reads many rows can query
   * it directly (same connections, same configuration) and skip Prisma's query compiler and row mapping.
   */
  async pgPool(): Promise<pg.Pool> {
    const current = this.pgAdapter.pool;
    if (current && !current.ending) return current;
    await this.$connect();
    const pool = this.pgAdapter.pool;
    if (!pool) throw new Error('the Prisma client connected without a pg pool');
    return pool;
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}
