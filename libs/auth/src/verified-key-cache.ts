import { Inject, Injectable } from '@nestjs/common';
import { ROLES, type Role } from '@tidegate/contracts';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';

/** How long a key verified against PostgreSQL keeps authenticating without it (seconds). */
export const VERIFIED_KEY_TTL_SECONDS = 60;
/** A process re-records a key it keeps verifying at most this often, so busy keys cost no Redis write per request. */
const REFRESH_EVERY_MS = 10_000;

/** What the guard needs to authenticate a key without PostgreSQL: who it is, and the hash to check the key against. */
export interface VerifiedKey {
  id: string;
  name: string;
  role: Role;
  hash: string;
}

function decode(raw: string | null): VerifiedKey | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<VerifiedKey>;
    const valid =
      typeof v.id === 'string' &&
      typeof v.name === 'string' &&
      typeof v.hash === 'string' &&
      (ROLES as readonly unknown[]).includes(v.role);
    return valid ? (v as VerifiedKey) : null;
  } catch {
    return null;
  }
}

/**
 * Admin API keys verified against PostgreSQL within the last {@link VERIFIED_KEY_TTL_SECONDS} s (at least
 * 50 s: a key in use is re-recorded every 10 s), kept in Redis by key prefix, so the admin API still authenticates them
 * while PostgreSQL is out of reach. Consulted only then: with PostgreSQL up, every request is checked there (a
 * revocation takes effect at once). Revoking a key through the API removes it; a key revoked elsewhere (the
 * `apikey` script) is removed the next time the admin API sees it revoked. Redis errors are never the caller's
 * problem: a failed write is skipped, a failed read is a miss.
 */
@Injectable()
export class VerifiedKeyCache {
  private readonly recorded = new Map<string, number>();

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Records a key just verified against PostgreSQL (at most every 10 s per key and process), off the request's path. */
  remember(prefix: string, key: VerifiedKey): void {
    const now = Date.now();
    if (now - (this.recorded.get(prefix) ?? 0) < REFRESH_EVERY_MS) return;
    this.recorded.set(prefix, now);
    this.redis
      .set(this.keys.verifiedApiKey(prefix), JSON.stringify(key), 'EX', VERIFIED_KEY_TTL_SECONDS)
      .catch(() => this.recorded.delete(prefix));
  }

  /** The key recorded under `prefix`, if it was verified recently; null when unknown, expired or Redis is down. */
  async recall(prefix: string): Promise<VerifiedKey | null> {
    return decode(await this.redis.get(this.keys.verifiedApiKey(prefix)).catch(() => null));
  }

  /** Removes a revoked key, so it no longer authenticates even while PostgreSQL is out of reach. */
  async forget(prefix: string): Promise<void> {
    this.recorded.delete(prefix);
    await this.redis.del(this.keys.verifiedApiKey(prefix));
  }
}
