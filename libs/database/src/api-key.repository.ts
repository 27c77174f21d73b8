import { Injectable } from '@nestjs/common';
import type { ApiKey, Role } from '@prisma/client';
import { PrismaService } from './prisma.service';

export type ApiKeyRecord = Pick<ApiKey, 'id' | 'name' | 'prefix' | 'role' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>;

const PUBLIC_FIELDS = {
  id: true,
  name: true,
  prefix: true,
  role: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

/** API keys in PostgreSQL. Only hashes are stored; see libs/auth for how keys are made and checked. */
@Injectable()
export class ApiKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: { name: string; prefix: string; hash: string; role: Role }): Promise<ApiKeyRecord> {
    return this.prisma.apiKey.create({ data, select: PUBLIC_FIELDS });
  }

  /**
   * Inserts the key unless its prefix exists already (bootstrap keys are upserted at every boot). A revoked key stays
   * revoked: the answer says so, and when.
   */
  async ensure(data: { name: string; prefix: string; hash: string; role: Role }): Promise<{ revokedAt: Date | null }> {
    return this.prisma.apiKey.upsert({
      where: { prefix: data.prefix },
      create: data,
      update: { hash: data.hash, role: data.role },
      select: { revokedAt: true },
    });
  }

  findByPrefix(prefix: string): Promise<ApiKey | null> {
    return this.prisma.apiKey.findUnique({ where: { prefix } });
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({ select: PUBLIC_FIELDS, orderBy: { createdAt: 'asc' } });
  }

  /** Marks a key revoked (keeping the first revocation time); returns null when no such key exists. */
  async revoke(id: string): Promise<ApiKeyRecord | null> {
    await this.prisma.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    return this.prisma.apiKey.findUnique({ where: { id }, select: PUBLIC_FIELDS });
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.prisma.apiKey.update({ where: { id }, data: { lastUsedAt: at } });
  }
}
