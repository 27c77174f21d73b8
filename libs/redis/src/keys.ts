/**
 * The one key builder. Every Redis key Tidegate writes is made here, so a key's shape, its Cluster hash tag and the
 * deployment prefix (`REDIS_KEY_PREFIX`, different per test file for isolation) are decided in one place.
 *
 * Hash tags: all keys of one room share `{room:<id>}` and all keys of one campaign share `{campaign:<id>}`, so a Lua
 * script touching several of them stays in one Cluster slot. BullMQ gets `<prefix>:{bull}` as its prefix, which puts
 * each queue's keys in one slot as BullMQ requires.
 */
const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

function checkId(kind: string, id: string): string {
  if (!ID_PATTERN.test(id)) throw new Error(`invalid ${kind} id for a Redis key: ${JSON.stringify(id)}`);
  return id;
}

export class RedisKeys {
  constructor(readonly prefix: string) {
    if (!/^[A-Za-z0-9_:.-]+$/.test(prefix)) throw new Error(`invalid Redis key prefix: ${JSON.stringify(prefix)}`);
  }

  /** Prefix handed to BullMQ queues and workers. */
  get bullPrefix(): string {
    return `${this.prefix}:{bull}`;
  }

  /** Keys of one waiting room; they share a hash tag. */
  room(roomId: string) {
    const base = `${this.prefix}:{room:${checkId('room', roomId)}}`;
    return {
      /** Hot copy of the room's settings (hash). */
      config: `${base}:config`,
      /** Last ticket number handed out (string counter). */
      tickets: `${base}:tickets`,
      /** Highest ticket number released so far (string counter). */
      serving: `${base}:serving`,
      /** Admitted sessions scored by expiry (sorted set). */
      sessions: `${base}:sessions`,
    };
  }

  /** Keys of one campaign; they share a hash tag. */
  campaign(campaignId: string) {
    const base = `${this.prefix}:{campaign:${checkId('campaign', campaignId)}}`;
    return {
      /** Bitmap of device ids whose message the provider accepted. */
      sentLedger: `${base}:sent`,
      /** Counters per campaign (hash). */
      stats: `${base}:stats`,
    };
  }

  /** Per-client throttling counters, one key per throttler name and client. */
  throttle(name: string, clientKey: string): string {
    return `${this.prefix}:throttle:${checkId('throttler', name)}:{${checkId('client', clientKey)}}`;
  }

  /** Pattern matching every key under this prefix (for test clean-up and tooling, never on a hot path). */
  get everything(): string {
    return `${this.prefix}:*`;
  }
}
