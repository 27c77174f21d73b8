/**
 * Prisma CLI configuration: the CLI runs its JavaScript schema engine through our driver adapter, so every
 * migrate command works offline (no native engine download). See docs/database.md.
 */
import { defineConfig } from 'prisma/config';
import { TidegatePgAdapter } from './libs/database/src/pg-adapter';

export default defineConfig({
  engine: 'js',
  experimental: { adapter: true },
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  adapter: () => {
    const url = process.env.DATABASE_URL;
    if (!url) return Promise.reject(new Error('DATABASE_URL is not set: the Prisma CLI needs a PostgreSQL URL'));
    return Promise.resolve(new TidegatePgAdapter({ connectionString: url, applicationName: 'tidegate-prisma-cli' }));
  },
});
