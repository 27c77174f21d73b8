/** Roles of admin API keys. `sre` may do everything; `marketer` runs campaigns; `viewer` only reads. */
export const ROLES = ['marketer', 'sre', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
