/**
 * Fake push providers on loopback for tests and benchmarks: strict about the wire format, scriptable errors,
 * and a record of what they received (decoded; for Web Push, decrypted). See docs/push-providers.md.
 */
export { ManualClock } from './clock';
export { type Decrypted, DecryptError, type UserAgentKeys, decryptAes128gcm } from './ece';
export { type ApnsFailure, type ApnsReceived, FakeApns, type FakeApnsOptions } from './fake-apns';
export { type FakeFcmOptions, FakeFcm, type FcmFailure, type FcmReceived, type TokenRequest } from './fake-fcm';
export { type HeaderField, HpackDecoder, HpackError, huffmanDecode } from './hpack';
export { RawHttp2Server, type RawRequest } from './raw-http2';
export { type FakeSubscription, FakeWebPush, type FakeWebPushOptions, type WebPushFailure, type WebPushReceived } from './fake-webpush';
export {
  type FakeAnswer,
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  type Http2ServerOptions,
  startHttp1Server,
  startHttp2Server,
} from './servers';
export { type TlsCertificate, selfSignedCertificate } from './tls';
