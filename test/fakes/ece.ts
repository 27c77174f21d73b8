/**
 * RFC 8291 (Message Encryption for Web Push) decryption, as a user agent does it, with node:crypto only:
 * the aes128gcm content coding of RFC 8188 with the key derived from ECDH between the user agent's key pair and the
 * application server's ephemeral key (the header's keyid) and the subscription's auth secret.
 */
import { createDecipheriv, hkdfSync, type ECDH } from 'node:crypto';

export interface UserAgentKeys {
  /** The subscription's key pair (P-256), with its private key. */
  ecdh: ECDH;
  /** The 16-byte auth secret. */
  authSecret: Buffer;
}

export interface Decrypted {
  plaintext: Buffer;
  salt: Buffer;
  recordSize: number;
  /** The application server's ephemeral public key (keyid). */
  senderPublicKey: Buffer;
}

export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptError';
  }
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, length: number) => Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/** Decrypts an aes128gcm push message body; throws DecryptError when it is malformed or does not authenticate. */
export function decryptAes128gcm(body: Buffer, keys: UserAgentKeys): Decrypted {
  if (body.length < 21) throw new DecryptError('shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  if (idLength !== 65) throw new DecryptError(`keyid must be the 65-byte sender public key, got ${idLength} bytes`);
  const senderPublicKey = body.subarray(21, 21 + idLength);
  if (senderPublicKey[0] !== 0x04) throw new DecryptError('keyid is not an uncompressed P-256 point');
  const record = body.subarray(21 + idLength);
  if (recordSize < 18) throw new DecryptError(`record size ${recordSize} is too small`);
  if (record.length < 17) throw new DecryptError('the record is shorter than the tag and the delimiter');
  if (record.length > recordSize) throw new DecryptError('more than one record (Web Push allows a single record)');

  let ecdhSecret: Buffer;
  try {
    ecdhSecret = keys.ecdh.computeSecret(senderPublicKey);
  } catch {
    throw new DecryptError('keyid is not a point on P-256');
  }
  const uaPublic = keys.ecdh.getPublicKey();
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, senderPublicKey]);
  const ikm = hkdf(ecdhSecret, keys.authSecret, keyInfo, 32);
  const cek = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12); // record 0: nonce XOR 0

  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  let padded: Buffer;
  try {
    padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  } catch {
    throw new DecryptError('the record does not authenticate (wrong keys or tampered)');
  }
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x02) throw new DecryptError('the last record must end with the padding delimiter 0x02');
  return { plaintext: padded.subarray(0, end), salt, recordSize, senderPublicKey };
}
