export declare const PRISMA_ADVISORY_LOCK: number;
export declare function localMigrations(dir: string): Array<{ name: string; sql: string; checksum: string }>;
export declare function migrate(options: {
  databaseUrl: string;
  migrationsDir: string;
  log?: (line: string) => void;
}): Promise<{ applied: string[] }>;
