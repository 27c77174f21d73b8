/**
 * Admin API keys: `tg_<prefix>_<secret>`. The 8-character prefix finds the row; only a SHA-256 hash of the whole
 * key is stored. A key carries 190+ bits of randomness, so a fast hash is enough (no password stretching needed).
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Role } from '@tidegate/contracts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_PATTERN = /^tg_([A-Za-z0-9]{8})_([A-Za-z0-9]{32,128})$/;

function randomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export interface GeneratedApiKey {
  /** The key itself: shown once, never stored. */
  key: string;
  prefix: string;
  hash: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): GeneratedApiKey {
  const prefix = randomString(8);
  const key = `tg_${prefix}_${randomString(40)}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The prefix of a well-formed key, or null. */
export function apiKeyPrefix(key: string): string | null {
  return KEY_PATTERN.exec(key)?.[1] ?? null;
}

export function verifyApiKey(key: string, storedHash: string): boolean {
  const actual = Buffer.from(hashApiKey(key), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Roles are ordered: `sre` may call every admin route, `marketer` the marketer and viewer routes, `viewer` only
 * the viewer (read-only) routes.
 */
const RANK: Record<Role, number> = { viewer: 0, marketer: 1, sre: 2 };

export function roleSatisfies(held: Role, required: Role): boolean {
  return RANK[held] >= RANK[required];
}
