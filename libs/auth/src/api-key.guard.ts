import { ForbiddenException, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@tidegate/contracts';
import { ApiKeyRepository, databaseUnavailable } from '@tidegate/database';
import { IS_PUBLIC } from '@tidegate/observability';
import { apiKeyPrefix, roleSatisfies, verifyApiKey } from './api-key';
import { REQUIRED_ROLE } from './roles.decorator';
import { VerifiedKeyCache, type VerifiedKey } from './verified-key-cache';

/** Who called an admin route; set on the request by the guard. */
export interface Caller {
  keyId: string;
  keyName: string;
  role: Role;
}

type HeaderBag = Record<string, string | string[] | undefined>;
type GuardedRequest = { headers: HeaderBag; caller?: Caller };

const TOUCH_INTERVAL_MS = 60_000;

/** Reads the key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function extractApiKey(headers: HeaderBag): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (m?.[1]) return m[1];
  }
  const header = headers['x-api-key'];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : null;
}

/**
 * Global guard of the admin API: 401 without a valid key, 403 when the key's role is below the route's.
 * Fails closed: a route that declares neither a role nor `@Public()` is refused (and the boot check stops such an app).
 * While PostgreSQL is out of reach, a key verified there within the last minute still authenticates (see
 * {@link VerifiedKeyCache}); any other key gets the database's 503 (the exception filter answers it).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyRepository,
    private readonly verified: VerifiedKeyCache,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const required = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets);
    if (!required) throw new ForbiddenException('this route declares no role');

    const request = context.switchToHttp().getRequest<GuardedRequest>();
    const key = extractApiKey(request.headers);
    if (!key) throw new UnauthorizedException('missing API key: send Authorization: Bearer <key> or X-API-Key');
    const prefix = apiKeyPrefix(key);
    if (!prefix) throw new UnauthorizedException('unknown API key');
    const record = await this.verify(key, prefix);
    if (!roleSatisfies(record.role, required)) {
      throw new ForbiddenException(`this route needs the ${required} role; the key has ${record.role}`);
    }
    request.caller = { keyId: record.id, keyName: record.name, role: record.role };
    this.touch(record.id);
    return true;
  }

  /** The key's record from PostgreSQL or, while PostgreSQL is out of reach, from the keys verified recently. */
  private async verify(key: string, prefix: string): Promise<VerifiedKey> {
    let record: Awaited<ReturnType<ApiKeyRepository['findByPrefix']>>;
    try {
      record = await this.keys.findByPrefix(prefix);
    } catch (err) {
      if (!databaseUnavailable(err)) throw err;
      const recalled = await this.verified.recall(prefix);
      if (recalled && verifyApiKey(key, recalled.hash)) return recalled;
      throw err; // not verified recently: the database's 503
    }
    if (!record || !verifyApiKey(key, record.hash)) throw new UnauthorizedException('unknown API key');
    if (record.revokedAt) {
      void this.verified.forget(prefix).catch(() => undefined);
      throw new UnauthorizedException('this API key was revoked');
    }
    const verified: VerifiedKey = { id: record.id, name: record.name, role: record.role, hash: record.hash };
    this.verified.remember(prefix, verified);
    return verified;
  }

  /** Records last use at most once a minute per key, off the request's path. */
  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(id, now);
    this.keys.touch(id, new Date(now)).catch(() => this.lastTouched.delete(id));
  }
}
