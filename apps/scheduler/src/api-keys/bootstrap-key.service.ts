import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { apiKeyPrefix, hashApiKey } from '@tidegate/auth';
import { ApiKeyRepository } from '@tidegate/database';

export const BOOTSTRAP_KEY_NAME = 'bootstrap';

/**
 * Installs BOOTSTRAP_API_KEY (if set) as an `sre` key at boot, so a fresh deployment has a first key without a
 * database shell. Idempotent; if PostgreSQL is down at boot, the app boots anyway and retries in the background. A
 * bootstrap key revoked through the API stays revoked across restarts (a warning at each boot says so).
 */
@Injectable()
export class BootstrapKeyService implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapKeyService.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly key: string | undefined,
  ) {}

  /** The first attempt is awaited, so a ready app accepts its bootstrap key; retries run in the background. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.key) await this.install(this.key, 1);
  }

  private async install(key: string, attempt: number): Promise<void> {
    const prefix = apiKeyPrefix(key);
    if (!prefix) return; // the config schema has checked the format already
    try {
      const { revokedAt } = await this.keys.ensure({ name: BOOTSTRAP_KEY_NAME, prefix, hash: hashApiKey(key), role: 'sre' });
      if (revokedAt) {
        this.logger.warn(
          `BOOTSTRAP_API_KEY names a revoked key (tg_${prefix}_…, revoked ${revokedAt.toISOString()}): it stays revoked. ` +
            'Set BOOTSTRAP_API_KEY to a new key (npm run apikey -- generate), or unset it.',
        );
        return;
      }
      this.logger.log(`bootstrap API key tg_${prefix}_… is installed (role sre)`);
    } catch (err) {
      const delay = Math.min(1000 * attempt, 10_000);
      this.logger.warn(
        `could not install the bootstrap API key (${err instanceof Error ? err.message : String(err)}); retrying in ${delay} ms`,
      );
      this.timer = setTimeout(() => void this.install(key, attempt + 1), delay);
      this.timer.unref();
    }
  }
}
