/**
 * Push providers: FCM HTTP v1, APNs (HTTP/2, token auth), Web Push (VAPID, aes128gcm) and a sink, behind one
 * interface (`PushProvider`). Framework-free; see docs/push-providers.md.
 */
export * from './types';
export * from './payload';
export { backoffMs, parseRetryAfter } from './retry';
export { FCM_ENDPOINT, FCM_ERROR_TYPE, FcmProvider, type FcmProviderOptions, type FcmSendRequest, fcmErrorCode, fcmRequest } from './fcm';
export { AccessTokenError, FCM_SCOPE, GoogleAccessTokens, type ServiceAccount, parseServiceAccount } from './google-auth';
export { APNS_PRODUCTION_ENDPOINT, APNS_SANDBOX_ENDPOINT, ApnsProvider, type ApnsProviderOptions, apnsHeaders, apnsReason } from './apns';
export {
  APNS_TOKEN_DEFAULT_REFRESH_MS,
  APNS_TOKEN_MAX_AGE_MS,
  APNS_TOKEN_MIN_AGE_MS,
  ApnsProviderToken,
  type ApnsTokenOptions,
} from './apns-token';
export { type VapidDetails, WebPushProvider, type WebPushProviderOptions } from './webpush';
export {
  forwardedPush,
  SINK_FORWARD_TIMEOUT_MS,
  SinkProvider,
  type ForwardedPush,
  type SinkForwardBody,
  type SinkProviderOptions,
  type SinkStats,
} from './sink';
export { RequestTimeoutError } from './http2-client';
export { WAVE_TICKET_RESERVED_BYTES, messagePayload, withWaveTicket } from './wave-ticket';
