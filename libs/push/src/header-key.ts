/**
 * A marketer's key (a campaign's collapse key) as an HTTP header value. The key is free text, in any script; a header
 * is not: Node writes each UTF-16 unit of a value as one byte, so `가을세일` would go out with a NUL (the provider
 * resets the stream), `봄세일` with a control character, and `세일` and `길일` as the same two bytes. So a key goes as
 * it is only when the header's own rule accepts it; any other key goes as a digest of its UTF-8 bytes (SHA-256,
 * base64url), which is deterministic (one key, one value, on every worker) and distinct for distinct keys. A key
 * that merely looks like a digest is digested too, so a verbatim key can never equal another key's digest.
 */
import { createHash } from 'node:crypto';

export interface HeaderKeyForm {
  /** Keys this header carries as they are. */
  verbatim: RegExp;
  /** Put before the digest (it marks the digest form, where the header's alphabet allows one). */
  digestPrefix: string;
  /** Base64url characters of the SHA-256 digest kept (43 is all of it). */
  digestChars: number;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** `key` in the form `form` allows: itself, or its digest. */
export function headerKey(key: string, form: HeaderKeyForm): string {
  const { verbatim, digestPrefix, digestChars } = form;
  const looksLikeDigest =
    key.length === digestPrefix.length + digestChars && key.startsWith(digestPrefix) && BASE64URL.test(key.slice(digestPrefix.length));
  if (verbatim.test(key) && !looksLikeDigest) return key;
  return digestPrefix + createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, digestChars);
}

/**
 * `apns-collapse-id`: at most 64 bytes (APNs' limit) of printable ASCII, spaces allowed inside (RFC 9110 field
 * value); other keys go as `sha256-` and the whole digest (50 characters).
 */
export const APNS_COLLAPSE_ID: HeaderKeyForm = {
  verbatim: /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/,
  digestPrefix: 'sha256-',
  digestChars: 43,
};

/**
 * Web Push `Topic` (RFC 8030 §5.4): at most 32 characters of the base64url alphabet, so no room for a prefix; other
 * keys go as the first 32 characters of the digest, and a 32-character key is digested too (it could be a digest).
 */
export const WEB_PUSH_TOPIC: HeaderKeyForm = { verbatim: /^[A-Za-z0-9_-]{1,32}$/, digestPrefix: '', digestChars: 32 };

export const apnsCollapseId = (collapseKey: string): string => headerKey(collapseKey, APNS_COLLAPSE_ID);
export const webPushTopic = (collapseKey: string): string => headerKey(collapseKey, WEB_PUSH_TOPIC);
