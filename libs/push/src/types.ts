/**
 * The contract every push provider implements: a batch of messages in, one result per message out (same order).
 * `send` never rejects because of one message: a bad token, a refused payload or a dead connection is that
 * message's result. It rejects only when the provider itself cannot work (closed, or misconfigured).
 */
import { type NotificationPayload } from './payload';

export type ProviderName = 'fcm' | 'apns' | 'webpush' | 'sink';

/** A browser's Web Push subscription (`PushSubscription.toJSON()`): keys are base64url as the browser gives them. */
export interface WebPushSubscription {
  endpoint: string;
  keys: {
    /** The user agent's P-256 public key, uncompressed point (65 bytes), base64url. */
    p256dh: string;
    /** The 16-byte authentication secret, base64url. */
    auth: string;
  };
}

/** Where a message goes: an FCM registration token, an APNs device token (hex), or a Web Push subscription. */
export type PushTarget =
  { platform: 'fcm'; token: string } | { platform: 'apns'; token: string } | { platform: 'webpush'; subscription: WebPushSubscription };

export interface PushMessage {
  /** The device's id in the devices table (a bigint as a decimal string). */
  deviceId: string;
  target: PushTarget;
  /** The campaign's payload, the same object for every message of a batch (providers resolve it once per object). */
  payload: NotificationPayload;
  /**
   * The device's wave ticket, if it gets one: the provider puts it in the payload as `withWaveTicket` does (the data's
   * `tg_wave`, every deep link's query) while it writes the message (wave-ticket.ts, "Ticket slots").
   */
  ticket?: string;
}

/**
 * - `sent`: the provider accepted the message (2xx).
 * - `invalid_token`: the token or subscription is gone for good; deactivate the device, never retry.
 * - `retry`: try again later (429, 5xx, timeout, connection error); wait `retryAfterMs` if given, else back off
 *   with jitter (`backoffMs`).
 * - `failed`: refused for a reason a retry will not fix (other 4xx, a payload too large); record it, do not retry.
 */
export type SendOutcome = 'sent' | 'invalid_token' | 'retry' | 'failed';

export interface SendResult {
  deviceId: string;
  outcome: SendOutcome;
  /** For `retry`: how long the provider asked us to wait (from `Retry-After`), in milliseconds. */
  retryAfterMs?: number;
  /** The provider's HTTP status, when there was a response. */
  status?: number;
  /** The provider's reason (`UNREGISTERED`, `BadDeviceToken`, `timeout`, `ECONNREFUSED`…), when not `sent`. */
  reason?: string;
}

export interface PushProvider {
  readonly name: ProviderName;
  /** Sends every message of the batch (concurrently, bounded per provider); resolves with one result per message. */
  send(batch: readonly PushMessage[]): Promise<SendResult[]>;
  /** Closes connections; later sends reject. Idempotent. */
  close(): Promise<void>;
}

/** Milliseconds since the epoch; injected so token lifetimes can be tested without waiting. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** TLS settings for providers and fakes reached over https: extra trusted CAs (a test's self-signed certificate). */
export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
}

/** Thrown for provider configuration that cannot work (a key of the wrong type, a refresh age outside the rules). */
export class PushConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PushConfigError';
  }
}
