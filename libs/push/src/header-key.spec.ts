import { fcmRequest } from './fcm';
import { APNS_COLLAPSE_ID, apnsCollapseId, headerKey, webPushTopic } from './header-key';
import { payloadFor } from './payload';

const FIELD_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const KOREAN = ['가을세일', '봄세일', '세일', '길일'];

describe('collapse keys as header values', () => {
  it('sends header-safe ASCII keys of up to 64 bytes to APNs as they are', () => {
    for (const key of ['spring-sale', 'Spring sale: shoes & bags', 'k'.repeat(64), '{"a":1}']) expect(apnsCollapseId(key)).toBe(key);
  });

  it('sends any other key as a digest: header-safe, at most 64 bytes, the same for the same key, distinct for distinct keys', () => {
    const keys = [...KOREAN, 'Été', ' padded ', 'tab\there', 'k'.repeat(65), 'emoji 🍏', ''];
    const ids = keys.map(apnsCollapseId);
    for (const id of ids) {
      expect(id).toMatch(FIELD_VALUE);
      expect(id).toMatch(/^sha256-[A-Za-z0-9_-]{43}$/);
    }
    expect(new Set(ids).size).toBe(keys.length);
    expect(keys.map(apnsCollapseId)).toEqual(ids);
  });

  it('digests a key that looks like a digest, so no key can take another key’s digest', () => {
    const digest = apnsCollapseId('가을세일');
    expect(apnsCollapseId(digest)).not.toBe(digest);
    expect(headerKey(digest, APNS_COLLAPSE_ID)).toMatch(/^sha256-/);
  });

  it('gives Web Push a Topic of base64url: short keys as they are, others (32 characters included) as a 32-character digest', () => {
    expect(webPushTopic('sale-2026')).toBe('sale-2026');
    const digested = ['가을세일', 'a'.repeat(32), 'spring sale'].map(webPushTopic);
    for (const topic of digested) expect(topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(digested[1]).not.toBe('a'.repeat(32));
    expect(new Set([...KOREAN.map(webPushTopic)]).size).toBe(KOREAN.length);
  });

  it('FCM forwards the header-safe apns-collapse-id to iOS apps and keeps the key itself as Android’s collapse_key (JSON)', () => {
    const request = fcmRequest(payloadFor('fcm', { title: 't', body: 'b', collapseKey: '가을세일' }), 'token', 0);
    expect(request.message.apns.headers['apns-collapse-id']).toBe(apnsCollapseId('가을세일'));
    expect(request.message.android.collapse_key).toBe('가을세일');
  });
});
