/**
 * The one way Tidegate (its apps and the Prisma CLI through prisma.config.ts) reaches PostgreSQL:
 * `@prisma/adapter-pg` over a `pg` pool, with two workarounds for bugs of adapter-pg 6.19.x:
 *
 * 1. Postgres-internal column types (`name`, `"char"`, `regclass`, `oidvector`, …) are refused by the adapter
 *    ("Column type 'name' could not be deserialized", prisma/orm#27403). The schema engine reads catalog tables
 *    full of them, so `migrate deploy` and `migrate diff` fail. `pg` already returns these values as strings;
 *    {@link InternalTypesAsTextClient} relabels those columns as `text` so the adapter accepts them.
 * 2. The adapter's `connectToShadowDb` drops the shadow database while its own pool still holds connections,
 *    which Postgres refuses. Ours ends the pool first, then drops.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';

const TEXT_OID = 25;
const TEXT_ARRAY_OID = 1009;
/** name, "char", int2vector, regproc, oidvector, pg_node_tree, regclass (2205), regtype (2206), aclitem (1033). */
const INTERNAL_SCALAR_OIDS = new Set([18, 19, 22, 24, 30, 194, 1033, 2205, 2206]);
/** name[], "char"[] (read as text[]), aclitem[]. */
const INTERNAL_ARRAY_OIDS = new Set([1002, 1003, 1034]);

type QueryResultLike = { fields?: Array<{ dataTypeID: number }> };

function relabelInternalTypes<T>(result: T): T {
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const field of (r as QueryResultLike | undefined)?.fields ?? []) {
      if (INTERNAL_SCALAR_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
      else if (INTERNAL_ARRAY_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_ARRAY_OID;
    }
  }
  return result;
}

/** A `pg.Client` whose results report Postgres-internal column types as text (see workaround 1). */
export class InternalTypesAsTextClient extends pg.Client {
  // pg's query() has many overloads: the adapter calls it with a promise on a client (transactions) and
  // pg.Pool calls it with a callback, so both forms are relabelled.
  override query(...args: unknown[]): never {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (err: unknown, res: unknown) => void;
      args[last] = (err: unknown, res: unknown) => callback(err, err ? res : relabelInternalTypes(res));
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      return (out as Promise<unknown>).then(relabelInternalTypes) as never;
    }
    return out as never;
  }
}

export interface PgAdapterOptions {
  connectionString: string;
  /** Pool size; Prisma's own default is num_cpus * 2 + 1. */
  max?: number;
  applicationName?: string;
}

/** The pg pool configuration shared by the app's pool and the CLI's pools. */
export function poolConfig(options: PgAdapterOptions): pg.PoolConfig {
  return {
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'tidegate',
    // Idle connections must not keep a finished process (the Prisma CLI, a script) alive for idleTimeoutMillis.
    allowExitOnIdle: true,
    Client: InternalTypesAsTextClient,
  };
}

/** A driver-adapter factory for PrismaClient and for the Prisma CLI (`prisma.config.ts`). */
export class TidegatePgAdapter extends PrismaPg {
  private readonly shadowBase: pg.PoolConfig;
  /** The pool of the last connection (adapter-pg makes one per connect): raw reads on hot paths share it. */
  pool: pg.Pool | null = null;

  constructor(options: PgAdapterOptions) {
    const config = poolConfig(options);
    super(config);
    this.shadowBase = config;
  }

  override async connect(): ReturnType<PrismaPg['connect']> {
    const adapter = await super.connect();
    this.pool = adapter.underlyingDriver();
    return adapter;
  }

  /** Workaround 2: create a throwaway database, and on dispose end its pool before dropping it. */
  override async connectToShadowDb(): ReturnType<PrismaPg['connectToShadowDb']> {
    const admin = new pg.Client({ connectionString: this.shadowBase.connectionString });
    const database = `tidegate_shadow_${randomUUID().replace(/-/g, '')}`;
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
    } finally {
      await admin.end();
    }
    const url = new URL(String(this.shadowBase.connectionString));
    url.pathname = `/${database}`;
    const shadow = new TidegatePgAdapter({ connectionString: url.toString(), max: 2 });
    const adapter = await shadow.connect();
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      const dropper = new pg.Client({ connectionString: this.shadowBase.connectionString });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    };
    return adapter;
  }
}
