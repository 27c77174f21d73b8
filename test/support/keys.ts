import type { INestApplication } from '@nestjs/common';
import { generateApiKey } from '@tidegate/auth';
import { ROLES, type Role } from '@tidegate/contracts';
import { ApiKeyRepository } from '@tidegate/database';

/** One admin API key per role, stored through the app's repository; returns the keys themselves by role. */
export async function createRoleKeys(
  app: INestApplication,
  name: (role: Role) => string = (role) => `${role}-key`,
): Promise<Record<Role, string>> {
  const repo = app.get(ApiKeyRepository);
  const keys = {} as Record<Role, string>;
  for (const role of ROLES) {
    const k = generateApiKey();
    await repo.create({ name: name(role), role, prefix: k.prefix, hash: k.hash });
    keys[role] = k.key;
  }
  return keys;
}
