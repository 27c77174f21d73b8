/**
 * What a valid device is, in one place: the JSON routes (through the DTOs' decorators) and the bulk import (row by
 * row) apply exactly these rules. Field names are the API's (snake_case, like the CSV header).
 */
import { canonicalLocale, canonicalZone, MAX_SEGMENT_LIST, TAG_PATTERN, TAG_RULE, parseInstant, type DeviceData } from '@tidegate/database';
import { PUSH_PLATFORMS, type PushPlatform } from '@tidegate/domain';

export const MAX_TAGS = MAX_SEGMENT_LIST;
export const MAX_USER_ID_LENGTH = 128;
export const MAX_APP_VERSION_LENGTH = 32;
export const MAX_ENDPOINT_LENGTH = 2048;
/** At most 2048: a longer random token would not fit the unique btree index on (platform, token) (2704 bytes a row). */
export const FCM_TOKEN = /^[A-Za-z0-9_:-]{100,2048}$/;
export const APNS_TOKEN = /^[0-9A-Fa-f]{64,200}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
/** Host names that only make sense inside a network: a Web Push endpoint must be a public push service. */
const PRIVATE_SUFFIXES = ['.localhost', '.local', '.internal', '.intranet', '.lan', '.home.arpa', '.corp'];

/** Every field a device may be registered with, in CSV header order. */
export const DEVICE_FIELDS = ['platform', 'token', 'p256dh', 'auth', 'user_id', 'timezone', 'locale', 'tags', 'app_version'] as const;
/** Import only: when the device was last seen (ISO 8601); registering through the API sets it to now. */
export const IMPORT_ONLY_FIELDS = ['last_seen_at'] as const;
export type DeviceField = (typeof DEVICE_FIELDS)[number] | (typeof IMPORT_ONLY_FIELDS)[number];

/** Why a field's value is wrong, or null; `device` is the whole input (token and keys depend on the platform). */
type Rule = (value: unknown, device: Record<string, unknown>) => string | null;

const hasControl = (s: string) => /[\u0000-\u001f\u007f]/.test(s); // eslint-disable-line no-control-regex

const platformOf = (device: Record<string, unknown>): PushPlatform | null =>
  (PUSH_PLATFORMS as readonly unknown[]).includes(device.platform) ? (device.platform as PushPlatform) : null;

/** Decoded byte length of base64url text (padding optional), or null when it is not base64url. */
function base64urlBytes(value: string): Buffer | null {
  if (!BASE64URL.test(value) || value.replace(/=+$/, '').length % 4 === 1) return null;
  return Buffer.from(value.replace(/=+$/, ''), 'base64url');
}

/**
 * Why `value` is not a Web Push endpoint we will send to, or null. Besides being an absolute https URL, it must not
 * point into a private network (SSRF): no IP-literal host, no localhost, no single-label or private-suffix name.
 * A public name can still resolve to a private address; the sender should check the address it connects to.
 */
export function endpointProblem(value: string): string | null {
  if (value.length > MAX_ENDPOINT_LENGTH) return `must be at most ${MAX_ENDPOINT_LENGTH} characters`;
  if (/\s/.test(value)) return 'must not contain whitespace';
  // The URL parser would escape them, but the endpoint is stored as given (and a batch's devices are read joined by
  // control characters: libs/database device-text.ts).
  if (hasControl(value)) return 'must not contain control characters';
  if (!URL.canParse(value)) return 'must be an absolute https URL (the subscription endpoint)';
  const url = new URL(value);
  if (url.protocol !== 'https:') return 'must use https://';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (value.includes('#')) return 'must not contain a fragment (#)';
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  // The URL parser normalises numeric hosts (0x7f.1, 2130706433) to dotted IPv4, and IPv6 hosts come in brackets.
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[')) return 'must name its host, not an IP address';
  if (host === 'localhost' || !host.includes('.') || PRIVATE_SUFFIXES.some((s) => host.endsWith(s))) {
    return 'must be a public push service host (not localhost, a single-label or a private-network name)';
  }
  return null;
}

const tokenRule: Rule = (value, device) => {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty string';
  switch (platformOf(device)) {
    case 'fcm':
      return FCM_TOKEN.test(value) ? null : 'must be an FCM registration token: 100 to 2048 characters of A-Z a-z 0-9 _ : -';
    case 'apns':
      return APNS_TOKEN.test(value) ? null : 'must be an APNs device token: 64 to 200 hexadecimal digits';
    case 'webpush':
      return endpointProblem(value);
    default:
      return null; // the platform's own error says what is wrong
  }
};

const keyRule =
  (name: 'p256dh' | 'auth', bytes: number, what: string): Rule =>
  (value, device) => {
    const platform = platformOf(device);
    if (platform !== 'webpush') {
      return value === undefined || value === null || value === '' ? null : `is only for webpush devices (${platform ?? 'no platform'})`;
    }
    if (value === undefined || value === null || value === '') return `is required for webpush: ${what}`;
    if (typeof value !== 'string') return 'must be a string';
    const decoded = base64urlBytes(value);
    if (!decoded || decoded.length !== bytes) return `must be base64url of ${bytes} bytes: ${what}`;
    if (name === 'p256dh' && decoded[0] !== 0x04) return `must be an uncompressed P-256 point (first byte 0x04): ${what}`;
    return null;
  };

const optionalText =
  (max: number): Rule =>
  (value) => {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || value === '') return 'must be a non-empty string or null';
    if (value.length > max) return `must be at most ${max} characters`;
    if (hasControl(value)) return 'must not contain control characters';
    return null;
  };

export const RULES: Record<DeviceField, Rule> = {
  platform: (value) => (platformOf({ platform: value }) ? null : `must be one of ${PUSH_PLATFORMS.join(', ')}`),
  token: tokenRule,
  p256dh: keyRule('p256dh', 65, "the subscription's keys.p256dh"),
  auth: keyRule('auth', 16, "the subscription's keys.auth"),
  user_id: optionalText(MAX_USER_ID_LENGTH),
  timezone: (value) =>
    value === undefined || (typeof value === 'string' && canonicalZone(value) !== null)
      ? null
      : 'must be an IANA time zone such as Europe/Paris',
  locale: (value) =>
    value === undefined || value === null || (typeof value === 'string' && canonicalLocale(value) !== null)
      ? null
      : 'must be a BCP 47 language tag such as en-US, or null',
  tags: (value) => {
    if (value === undefined) return null;
    if (!Array.isArray(value)) return 'must be an array of tags';
    if (value.length > MAX_TAGS) return `must hold at most ${MAX_TAGS} tags`;
    const bad = value.findIndex((t: unknown) => typeof t !== 'string' || !TAG_PATTERN.test(t));
    return bad === -1 ? null : `[${bad}] ${JSON.stringify(value[bad])?.slice(0, 70)} ${TAG_RULE}`;
  },
  app_version: optionalText(MAX_APP_VERSION_LENGTH),
  last_seen_at: (value) =>
    value === undefined || value === null || parseInstant(value) ? null : 'must be an ISO 8601 date-time with Z or an offset',
};

export interface RowProblem {
  field: string;
  message: string;
}

/**
 * Every problem of one device as a client sent it (an import row, after CSV cells were turned into values). Fields
 * outside `allowed` are refused, platform and token are required.
 */
export function deviceProblems(device: Record<string, unknown>, allowed: readonly string[]): RowProblem[] {
  const problems: RowProblem[] = [];
  for (const key of Object.keys(device)) {
    if (!allowed.includes(key)) problems.push({ field: key, message: `${key} is not a device field` });
  }
  for (const field of ['platform', 'token'] as const) {
    if (device[field] === undefined || device[field] === null) problems.push({ field, message: `${field} is required` });
  }
  for (const field of allowed as DeviceField[]) {
    const rule = RULES[field];
    if (!rule || ((field === 'platform' || field === 'token') && (device[field] === undefined || device[field] === null))) continue;
    const problem = rule(device[field], device);
    if (problem) problems.push({ field, message: `${field} ${problem}` });
  }
  return problems;
}

/** The stored form of a valid device: canonical zone and locale, lowercase APNs token, tags without repeats. */
export function toDeviceData(device: Record<string, unknown>): DeviceData {
  const platform = device.platform as PushPlatform;
  const token = device.token as string;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const lastSeen = parseInstant(device.last_seen_at);
  return {
    platform,
    token: platform === 'apns' ? token.toLowerCase() : token,
    p256dh: platform === 'webpush' ? (device.p256dh as string).replace(/=+$/, '') : null,
    auth: platform === 'webpush' ? (device.auth as string).replace(/=+$/, '') : null,
    userId: text(device.user_id),
    timezone: typeof device.timezone === 'string' ? (canonicalZone(device.timezone) ?? 'UTC') : 'UTC',
    locale: typeof device.locale === 'string' ? canonicalLocale(device.locale) : null,
    tags: Array.isArray(device.tags) ? [...new Set(device.tags as string[])] : [],
    appVersion: text(device.app_version),
    ...(lastSeen ? { lastSeenAt: lastSeen } : {}),
  };
}
