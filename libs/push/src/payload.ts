/**
 * A campaign's message, and what each provider gets of it: `payloadFor(platform, payload)` applies the platform's
 * overrides, builds the part of the request that counts against the provider's size limit, and refuses a payload
 * that would not fit (PayloadTooLargeError, with the size and the limit) so the API can answer 400 before any send.
 *
 * What counts against each limit:
 * - FCM (4096 bytes): the JSON of `notification` and `data` (FCM counts "both the keys and the values").
 * - APNs (4096 bytes): the whole JSON body, exactly as sent.
 * - Web Push (3993 bytes): the plaintext before encryption. RFC 8291 §4: a push service need not accept more than
 *   4096 bytes of body, and the aes128gcm header (86 bytes), the padding delimiter (1) and the AEAD tag (16) leave
 *   at most 3993 bytes of plaintext in the single record allowed.
 *
 * The deep link travels in the data map under `deep_link` on every platform (the app or service worker opens it).
 *
 * Every push also carries its device's wave ticket (wave-ticket.ts): in the data map under `tg_wave`, and on the deep
 * link. `checkPayload` (the campaign content check) therefore keeps WAVE_TICKET_RESERVED_BYTES of each limit free and
 * refuses a `tg_wave` data key; `payloadFor` (each send) checks the ticketed payload against the full limit.
 */
import { PUSH_PLATFORMS, type PushPlatform } from '@tidegate/domain';
import { WAVE_TICKET_PARAM } from '@tidegate/contracts';
import { apnsCollapseId, webPushTopic } from './header-key';
import { WAVE_TICKET_RESERVED_BYTES } from './wave-ticket';

export { apnsCollapseId, webPushTopic };

export const PAYLOAD_LIMITS: Readonly<Record<PushPlatform, number>> = { fcm: 4096, apns: 4096, webpush: 3993 };
/** The data key that carries the deep link. */
export const DEEP_LINK_KEY = 'deep_link';
/** How long a provider keeps a message for a device that is offline, unless the payload says otherwise. */
export const DEFAULT_TTL_SECONDS = 24 * 3600;
/** FCM's maximum time to live (28 days); the same bound is applied to every provider. */
export const MAX_TTL_SECONDS = 28 * 24 * 3600;
/** APNs refuses an `apns-collapse-id` longer than this (bytes). */
export const MAX_COLLAPSE_KEY_BYTES = 64;

export type Priority = 'high' | 'normal';
export type WebPushUrgency = 'very-low' | 'low' | 'normal' | 'high';

/** The fields every platform override may replace (title, body, deep link, image) or extend (data: merged). */
export interface ContentOverride {
  title?: string;
  body?: string;
  /** Merged over the payload's data; an override's key wins. */
  data?: Record<string, string>;
  deepLink?: string;
  imageUrl?: string;
}

export interface FcmOverride extends ContentOverride {
  /** Android notification channel. */
  channelId?: string;
  sound?: string;
  /** Android intent action opened on tap. */
  clickAction?: string;
}

export interface ApnsOverride extends ContentOverride {
  sound?: string;
  badge?: number;
  /** Lets a notification service extension change the content (set automatically when there is an image). */
  mutableContent?: boolean;
  threadId?: string;
  category?: string;
}

export interface WebPushOverride extends ContentOverride {
  icon?: string;
  badge?: string;
  tag?: string;
  urgency?: WebPushUrgency;
}

export interface NotificationPayload {
  title: string;
  body: string;
  /** String values only (FCM's rule; APNs and Web Push get the same map). */
  data?: Record<string, string>;
  deepLink?: string;
  imageUrl?: string;
  /** How long a provider keeps the message for an offline device (default 24 h, at most 28 days). */
  ttlSeconds?: number;
  /** Messages with the same key replace each other on the device (FCM collapse_key, apns-collapse-id, Web Push Topic). */
  collapseKey?: string;
  /** Default `high` (APNs priority 10, FCM HIGH, Web Push urgency high). */
  priority?: Priority;
  overrides?: { fcm?: FcmOverride; apns?: ApnsOverride; webpush?: WebPushOverride };
}

interface ResolvedCommon {
  title: string;
  body: string;
  /** The merged data map, deep link included under `deep_link`. */
  data: Record<string, string>;
  deepLink?: string;
  imageUrl?: string;
  ttlSeconds: number;
  priority: Priority;
  collapseKey?: string;
  /** Bytes counted against the provider's limit, and the limit. */
  size: number;
  limit: number;
}

export interface FcmPayload extends ResolvedCommon {
  platform: 'fcm';
  /** The `apns-collapse-id` FCM forwards to APNs for iOS apps: header-safe (see header-key.ts). */
  apnsCollapseId?: string;
  channelId?: string;
  sound?: string;
  clickAction?: string;
}

/** The APNs JSON body (`aps` plus the data keys at the top level), as sent. */
export interface ApnsBody {
  aps: {
    alert: { title: string; body: string };
    sound?: string;
    badge?: number;
    'mutable-content'?: 1;
    'thread-id'?: string;
    category?: string;
  };
  [key: string]: unknown;
}

export interface ApnsPayload extends ResolvedCommon {
  platform: 'apns';
  /** The exact request body. */
  json: string;
  /** The `apns-collapse-id` header: the collapse key if it is header-safe ASCII, else a digest of it (header-key.ts). */
  collapseId?: string;
}

/** The JSON a service worker receives (decrypted) in its `push` event: `event.data.json()`. */
export interface WebPushContent {
  title: string;
  body: string;
  data: Record<string, string>;
  image?: string;
  icon?: string;
  badge?: string;
  tag?: string;
}

export interface WebPushPayload extends ResolvedCommon {
  platform: 'webpush';
  /** The exact plaintext that is encrypted (JSON of WebPushContent). */
  plaintext: string;
  urgency: WebPushUrgency;
  /** The `Topic` header: the collapse key if it is under 32 base64url characters, else a digest of it (header-key.ts). */
  topic?: string;
}

export interface PayloadOf {
  fcm: FcmPayload;
  apns: ApnsPayload;
  webpush: WebPushPayload;
}
export type PlatformPayload = PayloadOf[PushPlatform];

export type PayloadErrorCode = 'invalid_type' | 'reserved_key' | 'out_of_range' | 'too_long' | 'payload_too_large';

/** A payload a provider would refuse; `field` is a dotted path into the payload (`overrides.apns.badge`). */
export class PayloadError extends Error {
  constructor(
    readonly field: string,
    readonly code: PayloadErrorCode,
    message: string,
    readonly platform?: PushPlatform,
  ) {
    super(message);
    this.name = 'PayloadError';
  }
}

export class PayloadTooLargeError extends PayloadError {
  constructor(
    platform: PushPlatform,
    readonly size: number,
    readonly limit: number,
  ) {
    super('payload', 'payload_too_large', `the ${platform} payload is ${size} bytes, over the limit of ${limit}`, platform);
    this.name = 'PayloadTooLargeError';
  }
}

/** FCM refuses these data keys (and any key starting with `google` or `gcm`). */
const FCM_RESERVED_KEYS = new Set(['from', 'notification', 'message_type']);
const isFcmReserved = (key: string) => FCM_RESERVED_KEYS.has(key) || /^(google|gcm)/i.test(key);
const URGENCIES: readonly WebPushUrgency[] = ['very-low', 'low', 'normal', 'high'];

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

class Problems {
  readonly list: PayloadError[] = [];
  constructor(private readonly platform?: PushPlatform) {}
  add(field: string, code: PayloadErrorCode, message: string): void {
    this.list.push(new PayloadError(field, code, message, this.platform));
  }
  string(field: string, value: unknown, optional = true): void {
    if (value === undefined && optional) return;
    if (typeof value !== 'string') this.add(field, 'invalid_type', `${field} must be a string`);
  }
  data(field: string, value: unknown): void {
    if (value === undefined) return;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.add(field, 'invalid_type', `${field} must be an object of strings`);
      return;
    }
    for (const [key, v] of Object.entries(value)) {
      if (typeof v !== 'string') this.add(`${field}.${key}`, 'invalid_type', `${field}.${key} must be a string`);
    }
  }
}

function checkCommon(payload: NotificationPayload, problems: Problems): void {
  problems.string('title', payload.title, false);
  problems.string('body', payload.body, false);
  problems.data('data', payload.data);
  problems.string('deepLink', payload.deepLink);
  problems.string('imageUrl', payload.imageUrl);
  problems.string('collapseKey', payload.collapseKey);
  if (payload.ttlSeconds !== undefined) {
    if (!Number.isInteger(payload.ttlSeconds) || payload.ttlSeconds < 0 || payload.ttlSeconds > MAX_TTL_SECONDS) {
      problems.add('ttlSeconds', 'out_of_range', `ttlSeconds must be a whole number from 0 to ${MAX_TTL_SECONDS}`);
    }
  }
  if (payload.priority !== undefined && payload.priority !== 'high' && payload.priority !== 'normal') {
    problems.add('priority', 'out_of_range', 'priority must be "high" or "normal"');
  }
}

function checkOverride(platform: PushPlatform, override: ContentOverride | undefined, problems: Problems): void {
  if (override === undefined) return;
  const at = `overrides.${platform}`;
  for (const key of ['title', 'body', 'deepLink', 'imageUrl'] as const) problems.string(`${at}.${key}`, override[key]);
  problems.data(`${at}.data`, override.data);
}

function resolveCommon(platform: PushPlatform, payload: NotificationPayload, override: ContentOverride | undefined) {
  const deepLink = override?.deepLink ?? payload.deepLink;
  const data: Record<string, string> = { ...payload.data, ...override?.data };
  if (deepLink !== undefined) data[DEEP_LINK_KEY] = deepLink;
  return {
    title: override?.title ?? payload.title,
    body: override?.body ?? payload.body,
    data,
    ...(deepLink !== undefined && { deepLink }),
    ...((override?.imageUrl ?? payload.imageUrl) !== undefined && { imageUrl: override?.imageUrl ?? payload.imageUrl }),
    ttlSeconds: payload.ttlSeconds ?? DEFAULT_TTL_SECONDS,
    priority: payload.priority ?? 'high',
    ...(payload.collapseKey !== undefined && { collapseKey: payload.collapseKey }),
    limit: PAYLOAD_LIMITS[platform],
  };
}

function resolveFcm(payload: NotificationPayload, problems: Problems): FcmPayload {
  const o = payload.overrides?.fcm;
  checkOverride('fcm', o, problems);
  for (const key of ['channelId', 'sound', 'clickAction'] as const) problems.string(`overrides.fcm.${key}`, o?.[key]);
  const common = resolveCommon('fcm', payload, o);
  for (const key of Object.keys(common.data)) {
    if (isFcmReserved(key)) problems.add(`data.${key}`, 'reserved_key', `FCM reserves the data key "${key}"`);
  }
  const size = byteLength(JSON.stringify({ notification: { title: common.title, body: common.body }, data: common.data }));
  return {
    platform: 'fcm',
    ...common,
    ...(common.collapseKey !== undefined && { apnsCollapseId: apnsCollapseId(common.collapseKey) }),
    ...(o?.channelId !== undefined && { channelId: o.channelId }),
    ...(o?.sound !== undefined && { sound: o.sound }),
    ...(o?.clickAction !== undefined && { clickAction: o.clickAction }),
    size,
  };
}

function resolveApns(payload: NotificationPayload, problems: Problems): ApnsPayload {
  const o = payload.overrides?.apns;
  checkOverride('apns', o, problems);
  for (const key of ['sound', 'threadId', 'category'] as const) problems.string(`overrides.apns.${key}`, o?.[key]);
  if (o?.badge !== undefined && (!Number.isInteger(o.badge) || o.badge < 0)) {
    problems.add('overrides.apns.badge', 'out_of_range', 'overrides.apns.badge must be a whole number, 0 or more');
  }
  if (o?.mutableContent !== undefined && typeof o.mutableContent !== 'boolean') {
    problems.add('overrides.apns.mutableContent', 'invalid_type', 'overrides.apns.mutableContent must be true or false');
  }
  const common = resolveCommon('apns', payload, o);
  if (common.collapseKey !== undefined && byteLength(common.collapseKey) > MAX_COLLAPSE_KEY_BYTES) {
    problems.add('collapseKey', 'too_long', `APNs allows a collapse key of at most ${MAX_COLLAPSE_KEY_BYTES} bytes`);
  }
  if ('aps' in common.data) problems.add('data.aps', 'reserved_key', 'APNs reserves the key "aps"');
  const body: ApnsBody = {
    ...common.data,
    ...(common.imageUrl !== undefined && { image_url: common.imageUrl }),
    aps: {
      alert: { title: common.title, body: common.body },
      ...(o?.sound !== undefined && { sound: o.sound }),
      ...(o?.badge !== undefined && { badge: o.badge }),
      ...((o?.mutableContent ?? common.imageUrl !== undefined) && { 'mutable-content': 1 as const }),
      ...(o?.threadId !== undefined && { 'thread-id': o.threadId }),
      ...(o?.category !== undefined && { category: o.category }),
    },
  };
  const json = JSON.stringify(body);
  return {
    platform: 'apns',
    ...common,
    json,
    ...(common.collapseKey !== undefined && { collapseId: apnsCollapseId(common.collapseKey) }),
    size: byteLength(json),
  };
}

function resolveWebPush(payload: NotificationPayload, problems: Problems): WebPushPayload {
  const o = payload.overrides?.webpush;
  checkOverride('webpush', o, problems);
  for (const key of ['icon', 'badge', 'tag'] as const) problems.string(`overrides.webpush.${key}`, o?.[key]);
  if (o?.urgency !== undefined && !URGENCIES.includes(o.urgency)) {
    problems.add('overrides.webpush.urgency', 'out_of_range', `overrides.webpush.urgency must be one of ${URGENCIES.join(', ')}`);
  }
  const common = resolveCommon('webpush', payload, o);
  const content: WebPushContent = {
    title: common.title,
    body: common.body,
    data: common.data,
    ...(common.imageUrl !== undefined && { image: common.imageUrl }),
    ...(o?.icon !== undefined && { icon: o.icon }),
    ...(o?.badge !== undefined && { badge: o.badge }),
    ...(o?.tag !== undefined && { tag: o.tag }),
  };
  const plaintext = JSON.stringify(content);
  const topic = common.collapseKey === undefined ? undefined : webPushTopic(common.collapseKey);
  return {
    platform: 'webpush',
    ...common,
    plaintext,
    urgency: o?.urgency ?? (common.priority === 'high' ? 'high' : 'normal'),
    ...(topic !== undefined && { topic }),
    size: byteLength(plaintext),
  };
}

const RESOLVERS: { [P in PushPlatform]: (payload: NotificationPayload, problems: Problems) => PayloadOf[P] } = {
  fcm: resolveFcm,
  apns: resolveApns,
  webpush: resolveWebPush,
};

function resolve<P extends PushPlatform>(
  platform: P,
  payload: NotificationPayload,
  reserveBytes = 0,
): { resolved: PayloadOf[P]; problems: PayloadError[] } {
  const problems = new Problems(platform);
  checkCommon(payload, problems);
  if (problems.list.length > 0) return { resolved: undefined as never, problems: problems.list };
  const resolved = RESOLVERS[platform](payload, problems);
  if (resolved.size > resolved.limit - reserveBytes) {
    problems.list.push(new PayloadTooLargeError(platform, resolved.size, resolved.limit - reserveBytes));
  }
  return { resolved, problems: problems.list };
}

/**
 * What `platform` gets of `payload`, overrides applied and size checked. Throws the first PayloadError
 * (PayloadTooLargeError when it does not fit). Treat payloads as immutable: providers cache the result per object.
 */
export function payloadFor<P extends PushPlatform>(platform: P, payload: NotificationPayload): PayloadOf[P] {
  const { resolved, problems } = resolve(platform, payload);
  if (problems[0] !== undefined) throw problems[0];
  return resolved;
}

/** The size a campaign's content may have on each platform: the provider's limit less the room for the wave ticket. */
export const CONTENT_LIMITS: Readonly<Record<PushPlatform, number>> = {
  fcm: PAYLOAD_LIMITS.fcm - WAVE_TICKET_RESERVED_BYTES,
  apns: PAYLOAD_LIMITS.apns - WAVE_TICKET_RESERVED_BYTES,
  webpush: PAYLOAD_LIMITS.webpush - WAVE_TICKET_RESERVED_BYTES,
};

/** The data key every push's wave ticket takes: a campaign's content may not use it. */
function reservedTicketKeys(payload: NotificationPayload): PayloadError[] {
  const fields = [
    ['data', payload.data],
    ...PUSH_PLATFORMS.map((p) => [`overrides.${p}.data`, payload.overrides?.[p]?.data] as const),
  ] as const;
  return fields
    .filter(([, data]) => typeof data === 'object' && data !== null && Object.hasOwn(data, WAVE_TICKET_PARAM))
    .map(
      ([field]) =>
        new PayloadError(`${field}.${WAVE_TICKET_PARAM}`, 'reserved_key', `the data key "${WAVE_TICKET_PARAM}" carries the wave ticket`),
    );
}

/**
 * Every problem `payload` would have on the given platforms (all by default), for a 400 answer listing them all;
 * an empty list means every provider will take it, with each device's wave ticket added (CONTENT_LIMITS). A problem
 * common to several platforms is reported once.
 */
export function checkPayload(payload: NotificationPayload, platforms: readonly PushPlatform[] = PUSH_PLATFORMS): PayloadError[] {
  const seen = new Set<string>();
  const all: PayloadError[] = reservedTicketKeys(payload);
  for (const platform of platforms) {
    for (const problem of resolve(platform, payload, WAVE_TICKET_RESERVED_BYTES).problems) {
      const key = problem.code === 'payload_too_large' ? `${problem.platform}:${problem.code}` : `${problem.field}:${problem.code}`;
      if (seen.has(key)) continue;
      seen.add(key);
      all.push(problem);
    }
  }
  return all;
}

/**
 * `payloadFor`, remembered per payload object: a batch usually shares one payload, so it is resolved and measured
 * once per platform, not once per device.
 */
export class PayloadCache<P extends PushPlatform> {
  private readonly cache = new WeakMap<NotificationPayload, PayloadOf[P] | PayloadError>();
  constructor(private readonly platform: P) {}

  /** The resolved payload, or the PayloadError it raises (returned, not thrown). */
  get(payload: NotificationPayload): PayloadOf[P] | PayloadError {
    let entry = this.cache.get(payload);
    if (entry === undefined) {
      try {
        entry = payloadFor(this.platform, payload);
      } catch (err) {
        if (!(err instanceof PayloadError)) throw err;
        entry = err;
      }
      this.cache.set(payload, entry);
    }
    return entry;
  }
}
