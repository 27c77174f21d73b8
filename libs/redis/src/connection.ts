/**
 * The one Redis connection factory: standalone (`REDIS_URL`) or Redis Cluster (`REDIS_CLUSTER_NODES`).
 */
import { Cluster, Redis, type RedisOptions as IORedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** redis:// or rediss:// URL of a standalone server. */
  url?: string;
  /** host:port of some Cluster nodes (the rest are discovered). */
  clusterNodes?: string[];
}

export interface ClientOptions {
  /** Shown in `CLIENT LIST` to tell Tidegate's connections apart. */
  name: string;
  /**
   * For BullMQ: commands wait across reconnects (`maxRetriesPerRequest: null`) as its blocking workers require.
   * Otherwise commands fail fast while Redis is down, so a request answers 503 instead of hanging.
   */
  forBullmq?: boolean;
  /** Where outage and recovery messages go (default: a JSON line on stderr). */
  onEvent?: (message: string) => void;
  /**
   * For sharded Pub/Sub (SSUBSCRIBE): on a Cluster, one subscriber connection per master, each channel subscribed on
   * the shard that owns its slot and re-subscribed when slots move. Without it ioredis sends every SSUBSCRIBE to one
   * node, which refuses channels of other shards (MOVED). No effect on a standalone server.
   */
  shardedPubSub?: boolean;
}

function parseNode(node: string): { host: string; port: number } {
  const idx = node.lastIndexOf(':');
  return { host: node.slice(0, idx).replace(/^\[|\]$/g, ''), port: Number(node.slice(idx + 1)) };
}

/**
 * ioredis emits 'error' on every failed reconnect; without a listener Node prints each one as unhandled. We log the
 * first error of an outage and the recovery, once each: readiness and metrics carry the state, not the log.
 */
function reportOutages(client: RedisClient, name: string, onEvent: (message: string) => void): RedisClient {
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    onEvent(`Redis connection ${name} lost: ${err.message}; reconnecting`);
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    onEvent(`Redis connection ${name} is back`);
  });
  return client;
}

const defaultReporter = (message: string) => process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), msg: message })}\n`);

export function createRedisClient(conn: RedisConnectionOptions, opts: ClientOptions): RedisClient {
  return reportOutages(openRedisClient(conn, opts), opts.name, opts.onEvent ?? defaultReporter);
}

/**
 * Closes a client without hanging: QUIT when connected (waits for replies in flight, bounded by `timeoutMs`),
 * otherwise drops the connection and stops reconnecting.
 */
export async function closeRedisClient(client: RedisClient, timeoutMs = 2000): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  // A Cluster resolves QUIT before its node connections have closed; wait for 'end' so nothing outlives the call.
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  try {
    await Promise.race([client.quit().then(() => ended), deadline]);
  } catch {
    // the connection broke while quitting: nothing left to close gracefully
  } finally {
    clearTimeout(timer);
    if ((client.status as string) !== 'end') client.disconnect();
  }
}

function openRedisClient(conn: RedisConnectionOptions, opts: ClientOptions): RedisClient {
  const base: IORedisOptions = {
    connectionName: `tidegate:${opts.name}`,
    maxRetriesPerRequest: opts.forBullmq ? null : 1,
    enableOfflineQueue: opts.forBullmq ? true : false,
    // Reconnect forever, backing off up to 2 s: readiness reports the outage; nothing needs a restart.
    retryStrategy: (times) => Math.min(100 * times, 2000),
    lazyConnect: false,
    // How long disconnect() waits for the socket to close before destroying it. ioredis arms this timer even for a
    // socket that already failed (it never closes again), which kept stopped processes alive for its 2 s default.
    disconnectTimeout: 500,
  };
  if (conn.clusterNodes && conn.clusterNodes.length > 0) {
    return new Cluster(conn.clusterNodes.map(parseNode), {
      redisOptions: base,
      enableOfflineQueue: base.enableOfflineQueue,
      maxRedirections: 16,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      shardedSubscribers: opts.shardedPubSub ?? false,
    });
  }
  if (!conn.url) throw new Error('Redis: neither a URL nor Cluster nodes were given');
  return new Redis(conn.url, base);
}

/** Resolves once the client is ready, or rejects after `timeoutMs`. */
export function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms (status: ${client.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** Runs `PING` with a deadline; with Cluster, on every master. */
export async function pingRedis(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status !== 'ready') throw new Error(`Redis connection is ${client.status}`);
  const ping =
    client instanceof Cluster
      ? Promise.all(client.nodes('master').map((n) => n.ping())).then(() => undefined)
      : client.ping().then(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to PING within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([ping, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
