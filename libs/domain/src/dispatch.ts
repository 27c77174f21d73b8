/**
 * The sending side of a campaign, as pure decisions: job ids, how provider results turn into ledger outcomes,
 * retries and provider penalties, when a campaign is paused for its error rate, and when held recipients go. The
 * scheduler's workers (apps/scheduler/src/dispatch) do the I/O around these; docs/dispatch.md tells the whole story.
 */
import { type DispatchSettings } from './dispatch-settings';
import { type QuietHours } from './quiet-hours';
import { nextSendTime } from './send-time';
import { type SendWindow, isInsideWindow, nextWindowOpen } from './send-window';
import { type PushPlatform, type RateLimits } from './wave-plan';

/**
 * Deterministic job ids: the same wave, batch and variant always gives the same id, so enqueueing twice (a planner
 * that crashed after enqueueing, a retry of a retry) adds one job. BullMQ refuses `:` in custom ids, hence dots.
 *
 * - `<campaign>.p<wave>`: the planner of a wave;
 * - `<campaign>.w<wave>.b<batch>`: a batch as planned;
 * - `<job>.r<attempt>`: the recipients of a job that a provider asked to retry (a retry of a retry replaces the
 *   attempt: `….r1` → `….r2`);
 * - `<job>.h<until ms>`: the recipients of a job held for quiet hours until that instant.
 *
 * Each id derives from its parent's whole id, so two different parents never produce the same child id (BullMQ
 * ignores an add whose id it still holds, even a completed one: a collision would drop recipients).
 */
export const planJobId = (campaignId: string, wave: number): string => `${campaignId}.p${wave}`;
export const batchJobId = (campaignId: string, wave: number, batch: number): string => `${campaignId}.w${wave}.b${batch}`;
export const retryJobId = (jobId: string, attempt: number): string => `${jobId.replace(/\.r\d+$/, '')}.r${attempt}`;
export const heldJobId = (jobId: string, until: Date): string => `${jobId}.h${until.getTime()}`;

/** Splits ids into batches of at most `size` (the last may be short). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('batch size must be a whole number, 1 or more');
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A provider's answer for one message (libs/push SendResult, restated to keep this library free of libs/push). */
export interface ProviderResult {
  deviceId: string;
  outcome: 'sent' | 'invalid_token' | 'retry' | 'failed';
  retryAfterMs?: number;
  status?: number;
  reason?: string;
}

export interface ResultPlan {
  sent: string[];
  invalid: Array<{ deviceId: string; reason: string }>;
  /** Final failures; `transient` when the cause was (5xx, timeout, 429 after the last attempt): a resume sends them again. */
  failed: Array<{ deviceId: string; reason: string; transient: boolean }>;
  /** Recipients to try again after `delayMs` (empty when none). */
  retry: { deviceIds: string[]; delayMs: number };
  /** Set when the provider answered 429: block it for this long and slow it down. */
  throttledForMs: number | null;
}

export interface RetryPolicy {
  /** Attempts so far for these recipients (0 for the first send). */
  attempt: number;
  maxAttempts: number;
  /** Backoff for this attempt when the provider gave no Retry-After (exponential with jitter, libs/push backoffMs). */
  backoffMs: number;
  /** Longest we wait for a Retry-After; a longer one counts as failed rather than parking the batch for days. */
  maxRetryAfterMs: number;
}

/**
 * What to do with one provider's results: sent and invalid are final; `failed` is final (other 4xx, a payload
 * refused); `retry` goes again after the longest Retry-After in the batch (or the backoff), unless this was the
 * last attempt or the provider asked for longer than `maxRetryAfterMs`, which makes it failed.
 */
export function planResults(results: readonly ProviderResult[], policy: RetryPolicy): ResultPlan {
  const plan: ResultPlan = { sent: [], invalid: [], failed: [], retry: { deviceIds: [], delayMs: 0 }, throttledForMs: null };
  let retryAfter = 0;
  const retrying: ProviderResult[] = [];
  for (const r of results) {
    if (r.outcome === 'sent') plan.sent.push(r.deviceId);
    else if (r.outcome === 'invalid_token') plan.invalid.push({ deviceId: r.deviceId, reason: r.reason ?? 'invalid token' });
    else if (r.outcome === 'failed') plan.failed.push({ deviceId: r.deviceId, reason: describeResult(r), transient: false });
    else {
      retrying.push(r);
      if (r.retryAfterMs !== undefined) retryAfter = Math.max(retryAfter, r.retryAfterMs);
      if (r.status === 429) plan.throttledForMs = Math.max(plan.throttledForMs ?? 0, r.retryAfterMs ?? policy.backoffMs);
    }
  }
  const delayMs = retryAfter > 0 ? retryAfter : policy.backoffMs;
  const exhausted = policy.attempt + 1 >= policy.maxAttempts;
  for (const r of retrying) {
    if (exhausted)
      plan.failed.push({ deviceId: r.deviceId, reason: `${describeResult(r)} (after ${policy.maxAttempts} attempts)`, transient: true });
    else if (delayMs > policy.maxRetryAfterMs)
      plan.failed.push({ deviceId: r.deviceId, reason: `${describeResult(r)} (retry after ${delayMs} ms)`, transient: true });
    else plan.retry.deviceIds.push(r.deviceId);
  }
  plan.retry.delayMs = plan.retry.deviceIds.length > 0 ? delayMs : 0;
  return plan;
}

function describeResult(r: ProviderResult): string {
  if (r.status !== undefined && r.reason) return `${r.status} ${r.reason}`;
  return r.reason ?? (r.status !== undefined ? `HTTP ${r.status}` : 'failed');
}

/** A guards' window: recent provider answers, and how many of them were failures (or retries) and invalid tokens. */
export interface GuardCounts {
  recentTotal: number;
  recentFailed: number;
  recentInvalid: number;
}

/**
 * The guards' recent window over every provider, and each provider's own (`byProvider`, keyed by platform: fcm,
 * apns, webpush). One provider down out of three fails a third of the answers: its own window shows the outage while
 * the other providers' successes would dilute it in the shared one.
 */
export interface GuardWindow extends GuardCounts {
  byProvider?: Readonly<Record<string, GuardCounts>>;
}

export type GuardName = 'error-rate guard' | 'invalid-token guard' | 'transient-failure guard';

/** A guard's decision to pause a campaign: which guard, why in words, and the figures (a provider's when it is one). */
export interface GuardVerdict {
  guard: GuardName;
  reason: string;
  figures: {
    recent_total: number;
    recent_failed: number;
    recent_invalid: number;
    provider?: string;
    threshold?: number;
    failed_transient?: number;
  };
}

const pct = (n: number) => `${Math.round(n * 1000) / 10}%`;

/**
 * Whether a running campaign must be paused after a batch, and why. In order:
 * - recipients failed for a transient cause after their last attempt: paused at once, so that a resume sends them
 *   again (a provider outage longer than the retries never loses recipients);
 * - the error rate (failures and retries over every answer in the window) above its threshold, in the window of all
 *   providers or in any one provider's: an outage pauses the campaign after about `errorRateMinSample` answers of
 *   that provider, long before retries run out, however small its share of the audience;
 * - the invalid-token rate above its threshold, likewise (an APNs sandbox/production mix-up answers every APNs
 *   device "bad token", whatever the FCM devices get).
 * A window is judged once it holds `errorRateMinSample` answers.
 */
export function judgeGuards(
  window: GuardWindow,
  failedTransient: number,
  settings: Pick<DispatchSettings, 'errorRateThreshold' | 'invalidRateThreshold' | 'errorRateMinSample'>,
): GuardVerdict | null {
  const figuresOf = (w: GuardCounts) => ({ recent_total: w.recentTotal, recent_failed: w.recentFailed, recent_invalid: w.recentInvalid });
  if (failedTransient > 0) {
    return {
      guard: 'transient-failure guard',
      reason: `paused automatically: ${failedTransient} recipients still failed for a transient cause (5xx, timeout or 429) after their last attempt; resume to send them again`,
      figures: { ...figuresOf(window), failed_transient: failedTransient },
    };
  }
  const windows: Array<[string | null, GuardCounts]> = [[null, window], ...Object.entries(window.byProvider ?? {}).sort(byName)];
  const judged = windows.filter(([, w]) => w.recentTotal >= settings.errorRateMinSample && w.recentTotal > 0);
  for (const [provider, w] of judged) {
    if (w.recentFailed / w.recentTotal <= settings.errorRateThreshold) continue;
    const answers = provider === null ? 'provider answers' : `${provider} answers`;
    return {
      guard: 'error-rate guard',
      reason: `paused automatically: ${w.recentFailed} of the last ${w.recentTotal} ${answers} failed or asked for a retry (${pct(w.recentFailed / w.recentTotal)}, above ${pct(settings.errorRateThreshold)})`,
      figures: { ...figuresOf(w), ...(provider === null ? {} : { provider }), threshold: settings.errorRateThreshold },
    };
  }
  for (const [provider, w] of judged) {
    if (w.recentInvalid / w.recentTotal <= settings.invalidRateThreshold) continue;
    const answers = provider === null ? 'provider answers' : `${provider} answers`;
    return {
      guard: 'invalid-token guard',
      reason: `paused automatically: ${w.recentInvalid} of the last ${w.recentTotal} ${answers} were invalid tokens (${pct(w.recentInvalid / w.recentTotal)}, above ${pct(settings.invalidRateThreshold)}): check the provider's credentials and environment (APNs sandbox or production) before resuming`,
      figures: { ...figuresOf(w), ...(provider === null ? {} : { provider }), threshold: settings.invalidRateThreshold },
    };
  }
  return null;
}

const byName = ([a]: [string, GuardCounts], [b]: [string, GuardCounts]) => (a < b ? -1 : a > b ? 1 : 0);

/** When a wave shut out by the send window may go: `at` itself when the window is open (or there is none). */
export function windowDelay(window: SendWindow | null, at: Date): Date {
  if (window === null || isInsideWindow(window, at)) return at;
  return nextWindowOpen(window, at);
}

/**
 * When recipients held until `until` (their quiet hours end) may be sent: the first instant from then that is also
 * inside the campaign's window, or `until` when there is no window. Null when no such instant exists soon (the
 * window and their quiet hours exclude each other): the caller records them as failed.
 */
export function heldRelease(window: SendWindow | null, quietHours: QuietHours | null, timezone: string, until: Date): Date | null {
  if (window === null) return until;
  return nextSendTime(window, quietHours, timezone, until);
}

/** The limits one campaign's sends go through, messages per minute; null: none. */
export interface CampaignLimits {
  /** The system's limits, shared by every campaign (the SREs' settings). */
  system: { globalPerMinute: number | null; providerPerMinute: Record<PushPlatform, number | null> };
  /** The campaign's own: its rate (the stricter of its `campaign` and `global`), and its per-provider limits. */
  campaign: { perMinute: number | null; providerPerMinute: Record<PushPlatform, number | null> };
}

const stricter = (a: number | null | undefined, b: number | null | undefined): number | null =>
  typeof a === 'number' ? (typeof b === 'number' ? Math.min(a, b) : a) : typeof b === 'number' ? b : null;

/** A campaign's rate limits next to the system's: what the sender takes from, and what the preview plans with. */
export function campaignLimits(
  limits: RateLimits | null,
  settings: Pick<DispatchSettings, 'globalPerMinute' | 'providerPerMinute'>,
): CampaignLimits {
  const own = (p: PushPlatform) => limits?.providerPerMinute?.[p] ?? null;
  return {
    system: { globalPerMinute: settings.globalPerMinute, providerPerMinute: { ...settings.providerPerMinute } },
    campaign: {
      perMinute: stricter(limits?.campaignPerMinute, limits?.globalPerMinute),
      providerPerMinute: { fcm: own('fcm'), apns: own('apns'), webpush: own('webpush') },
    },
  };
}

/** The same limits as one RateLimits for planWaves: the stricter of the system's and the campaign's, per kind. */
export function planningLimits(limits: CampaignLimits): RateLimits {
  const provider = (p: PushPlatform) => stricter(limits.system.providerPerMinute[p], limits.campaign.providerPerMinute[p]);
  return {
    globalPerMinute: limits.system.globalPerMinute,
    campaignPerMinute: limits.campaign.perMinute,
    providerPerMinute: { fcm: provider('fcm'), apns: provider('apns'), webpush: provider('webpush') },
  };
}

/** When the planner of the next wave is due: the interval after this wave started. */
export function nextWaveDue(startedAt: Date, intervalSeconds: number): Date {
  return new Date(startedAt.getTime() + intervalSeconds * 1000);
}
