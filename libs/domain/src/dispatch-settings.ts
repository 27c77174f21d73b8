/**
 * System-wide dispatch settings that SREs tune at run time (PATCH /admin/dispatch/settings): defaults for new
 * campaigns, the limits every send goes through, and the guards that pause or hold a campaign. Stored as one JSON
 * row (dispatch_settings); what is not stored takes the value below. Workers re-read them about once a second, so a
 * change applies without a restart.
 */
import { type PushPlatform } from './wave-plan';

export interface DispatchSettings {
  /** Defaults for a new campaign whose wave_plan omits them. */
  batchSize: number;
  waveSize: number;
  intervalSeconds: number;
  /** The whole system's sending rate, messages per minute; null: none. */
  globalPerMinute: number | null;
  /** Each provider's quota, messages per minute (FCM's default project quota is 600,000); null: none. */
  providerPerMinute: Record<PushPlatform, number | null>;
  /**
   * A campaign whose recent failure rate goes above this fraction is paused: failures and transient failures that
   * will be retried (5xx, timeouts, 429), over every provider answer (sent, invalid, failed, retried).
   */
  errorRateThreshold: number;
  /** A campaign whose recent invalid-token rate (invalid / answers) goes above this fraction is paused (a wrong APNs environment, a rotated key). */
  invalidRateThreshold: number;
  /** Answers a campaign must have (in the recent window) before either rate is judged. */
  errorRateMinSample: number;
  /** Attempts per recipient for retryable outcomes (429, 5xx, timeouts) before it counts as failed. */
  maxAttempts: number;
  /** A wave waits while its room's pressure (estimated wait / max wait) is at or above this; null: never waits. */
  roomPressureLimit: number | null;
  /**
   * The open model pacing and forecasts assume until a campaign's own opens are measured: the fraction of recipients
   * who tap (0 to 1), and the log-normal send→tap delay (median seconds, sigma).
   */
  openRate: number;
  openDelayMedianSeconds: number;
  openDelaySigma: number;
}

export const DEFAULT_DISPATCH_SETTINGS: Readonly<DispatchSettings> = Object.freeze({
  batchSize: 500,
  waveSize: 50_000,
  intervalSeconds: 60,
  globalPerMinute: null,
  providerPerMinute: Object.freeze({ fcm: 600_000, apns: null, webpush: null }),
  errorRateThreshold: 0.5,
  invalidRateThreshold: 0.5,
  errorRateMinSample: 200,
  maxAttempts: 5,
  roomPressureLimit: 1,
  openRate: 0.1,
  openDelayMedianSeconds: 30,
  openDelaySigma: 1,
});
