/**
 * Wave tickets: every push a campaign sends carries one, so the gateway can tell that a visitor came from that push
 * (campaign, wave, device) and count the campaign's funnel. Signed by the scheduler, checked by the gateway, with
 * WAVE_TICKET_SECRET (HMAC-SHA-256, 128 bits kept: nobody outside Tidegate verifies them, and they are checked on
 * the gateway's hot path).
 *
 * A ticket is URL-safe ASCII, at most WAVE_TICKET_MAX_LENGTH (96) characters, about 70 in practice:
 *
 *   w2.<campaign>.<wave>.<device>.<sentAt>.<ttl>.<mac>
 *
 * - `w2`: the format's version (a new format gets a new prefix; old tickets stay readable while they live);
 * - `<campaign>`: the campaign's UUID as 16 bytes, base64url (22 characters);
 * - `<wave>`, `<device>` (the devices table's id), `<sentAt>` (seconds since the epoch) and `<ttl>` (seconds: the
 *   ticket expires at sentAt + ttl): base 36, lower case, no leading zeros;
 * - `<mac>`: HMAC-SHA-256, first 16 bytes, base64url, over `w2|<campaign uuid>|<wave>|` filled with `.` to exactly 64
 *   bytes (one SHA-256 block: at most 48 before the fill), then `<device>|<sentAt>|<ttl>`; the numbers in decimal.
 *
 * Why w2: the campaign and wave, the same for a whole batch, fill the MAC's first block on their own, so the signer
 * hashes that block once per batch and each device costs two SHA-256 blocks (its own and the outer hash) instead of
 * w1's three. `verify` still reads `w1` tickets, the same fields with the MAC over
 * `w1|<campaign uuid>|<wave>|<device>|<sentAt>|<ttl>`, while they live (28 days at most); nothing signs them any more.
 *
 * `verify` never throws: anything that is not a genuine, unexpired ticket is null ("not a wave ticket"), and its
 * holder is an ordinary visitor.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WAVE_TICKET_MAX_LENGTH } from '@tidegate/contracts';
import { HmacSha256 } from './hmac-sha256';

export interface WaveTicket {
  /** The campaign's id (a UUID, lower case). */
  campaignId: string;
  /** 1-based. */
  wave: number;
  /** The devices table's id (a bigint, as a decimal string). */
  deviceId: string;
  /** When the push was sent (seconds since the epoch). */
  sentAt: number;
  /** When the ticket stops being accepted (seconds since the epoch). */
  expiresAt: number;
}

/** What every ticket of one batch shares: all of a ticket but the device. */
export type WaveTicketBatch = Omit<WaveTicket, 'deviceId'>;

/** The version tickets are signed with; `verify` also reads `w1`. */
export const WAVE_TICKET_VERSION = 'w2';
/** Default lifetime: a push kept by the provider for a day or two is still tapped days later. */
export const WAVE_TICKET_TTL_SECONDS = 7 * 86_400;
/** Longest lifetime a ticket may have (FCM's longest time to live, 28 days). */
export const MAX_WAVE_TICKET_TTL_SECONDS = 28 * 86_400;
/** Highest wave number a ticket carries. */
export const MAX_WAVE = 1_000_000;
/** A ticket "sent" further in the future than this (clock skew between scheduler and gateway) is refused. */
const FUTURE_SLACK_SECONDS = 300;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DECIMAL = /^[1-9][0-9]*$/;
const B36 = '(0|[1-9a-z][0-9a-z]{0,12})';
const PATTERN = new RegExp(`^(w1|w2)\\.([A-Za-z0-9_-]{22})\\.${B36}\\.${B36}\\.${B36}\\.${B36}\\.([A-Za-z0-9_-]{22})$`);
/** A w2 MAC's first block: `w2|<campaign uuid>|<wave>|` (at most 48 bytes) filled with this to 64. */
const W2_FILL = '.';
const W2_BLOCK = 64;

/** The first block of a w2 ticket's MAC (see the format above). */
function w2Block(campaignId: string, wave: number): string {
  const head = `w2|${campaignId}|${wave}|`;
  // Never longer for a wave a ticket can carry (MAX_WAVE); a forged wave read by `verify` must not make it throw.
  return head + W2_FILL.repeat(Math.max(0, W2_BLOCK - head.length));
}

function uuidToBase64url(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

function base64urlToUuid(value: string): string | null {
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.length !== 16 || bytes.toString('base64url') !== value) return null;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A base-36 field as a safe integer, or null. */
function fromBase36(value: string): number | null {
  const n = parseInt(value, 36);
  return Number.isSafeInteger(n) ? n : null;
}

export class WaveTicketSigner {
  private readonly key: Buffer;
  /** The signing MAC (the same HMAC-SHA-256 as `mac`, without a native call per ticket: hmac-sha256.ts). */
  private readonly hmac: HmacSha256;

  constructor(secret: string) {
    if (secret.length < 32) throw new Error('the wave ticket secret must have at least 32 characters');
    this.key = Buffer.from(secret, 'utf8');
    this.hmac = new HmacSha256(this.key);
  }

  /** The MAC of a ticket of either version, with node:crypto (verification). */
  private mac(version: string, campaignId: string, wave: number, deviceId: number, sentAt: number, ttl: number): Buffer {
    const message =
      version === 'w1'
        ? `w1|${campaignId}|${wave}|${deviceId}|${sentAt}|${ttl}`
        : `${w2Block(campaignId, wave)}${deviceId}|${sentAt}|${ttl}`;
    return createHmac('sha256', this.key).update(message).digest().subarray(0, 16);
  }

  /** The ticket for one device's push; throws on fields no ticket can carry (a programming error, not input). */
  sign(ticket: WaveTicket): string {
    return this.batch(ticket)(ticket.deviceId);
  }

  /**
   * A signer of one batch's tickets (the same campaign, wave and times for every device): the shared fields are
   * checked and encoded once, each call then signs one device's ticket, exactly as `sign` would. Throws as `sign`
   * does, on the shared fields here, on a device id in the call.
   */
  batch(shared: WaveTicketBatch): (deviceId: string) => string {
    const { campaignId, wave, sentAt, expiresAt } = shared;
    const ttl = expiresAt - sentAt;
    if (!UUID.test(campaignId))
      throw new Error(`wave ticket: the campaign id must be a lower-case UUID, got ${JSON.stringify(campaignId)}`);
    if (!Number.isInteger(wave) || wave < 1 || wave > MAX_WAVE) throw new Error(`wave ticket: wave ${wave} is out of range`);
    if (!Number.isSafeInteger(sentAt) || sentAt < 0) throw new Error('wave ticket: sentAt must be whole seconds since the epoch');
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_WAVE_TICKET_TTL_SECONDS) {
      throw new Error(`wave ticket: expiresAt must be 1 s to ${MAX_WAVE_TICKET_TTL_SECONDS} s after sentAt`);
    }
    // The MAC's input is the batch's 64-byte block, hashed once here, then `<device>|<sentAt>|<ttl>` (the device as a
    // decimal without leading zeros, which is how a valid id is spelled); the ticket
    // `w2.<campaign>.<wave>.<device>.<sentAt>.<ttl>.<mac>`.
    const head = `${WAVE_TICKET_VERSION}.${uuidToBase64url(campaignId)}.${wave.toString(36)}.`;
    const tail = `.${sentAt.toString(36)}.${ttl.toString(36)}.`;
    const mac = this.hmac.base64url16AfterBlock(w2Block(campaignId, wave), '', `|${sentAt}|${ttl}`);
    return (deviceText) => {
      const deviceId = Number(deviceText);
      if (!DECIMAL.test(deviceText) || !Number.isSafeInteger(deviceId)) {
        throw new Error(`wave ticket: device id ${JSON.stringify(deviceText)} is not a positive integer`);
      }
      const value = head + deviceId.toString(36) + tail + mac(deviceText);
      if (value.length > WAVE_TICKET_MAX_LENGTH) throw new Error(`wave ticket: ${value.length} characters, over ${WAVE_TICKET_MAX_LENGTH}`);
      return value;
    };
  }

  /** The ticket if `value` is a genuine wave ticket that has not expired at `nowSeconds`; null for anything else. */
  verify(value: unknown, nowSeconds = Math.floor(Date.now() / 1000)): WaveTicket | null {
    if (typeof value !== 'string' || value.length > WAVE_TICKET_MAX_LENGTH) return null;
    const m = PATTERN.exec(value);
    if (!m) return null;
    const [, version, campaign, waveText, deviceText, sentText, ttlText, macText] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const campaignId = base64urlToUuid(campaign);
    const wave = fromBase36(waveText);
    const deviceId = fromBase36(deviceText);
    const sentAt = fromBase36(sentText);
    const ttl = fromBase36(ttlText);
    if (campaignId === null || wave === null || deviceId === null || sentAt === null || ttl === null) return null;
    // Compared as text: decoding would ignore the last character's low bits, so 16 spellings of one MAC would pass.
    const actual = Buffer.from(macText);
    const expected = Buffer.from(this.mac(version, campaignId, wave, deviceId, sentAt, ttl).toString('base64url'));
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null;
    // Checked after the MAC, so a forged ticket and an odd genuine one are told apart by nobody outside.
    if (wave < 1 || wave > MAX_WAVE || deviceId < 1 || ttl < 1 || ttl > MAX_WAVE_TICKET_TTL_SECONDS) return null;
    if (nowSeconds >= sentAt + ttl || sentAt > nowSeconds + FUTURE_SLACK_SECONDS) return null;
    return { campaignId, wave, deviceId: String(deviceId), sentAt, expiresAt: sentAt + ttl };
  }
}
