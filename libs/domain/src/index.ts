/**
 * Tidegate's framework-free domain logic: plain TypeScript, no Nest, no I/O, every instant passed in.
 * Campaign dispatch: send windows, recipients' quiet hours, wave plans (docs/dispatch.md).
 */
export { type FieldError, type FieldErrorCode } from './field-errors';
export { MINUTES_PER_DAY, formatTimeOfDay, parseTimeOfDay } from './time-of-day';
export {
  DAY_MS,
  FALLBACK_TIME_ZONE,
  HOUR_MS,
  MINUTE_MS,
  SECOND_MS,
  type LocalDate,
  type LocalDateTime,
  addDays,
  canonicalTimeZone,
  isValidTimeZone,
  localDateOf,
  localDateTime,
  localToInstant,
  offsetMs,
  recipientTimeZone,
} from './time-zone';
export {
  type SendWindow,
  type WindowInterval,
  isInsideWindow,
  nextWindowOpen,
  validateSendWindow,
  windowCloseAfter,
  windowIntervals,
  windowOpenings,
} from './send-window';
export { DEFAULT_SEND_TIME_HORIZON_MS, nextSendTime } from './send-time';
export { type QuietHours, type QuietHoursSplit, isQuiet, quietUntil, splitByQuietHours, validateQuietHours } from './quiet-hours';
export {
  DEFAULT_PROVIDER_RATES_PER_MINUTE,
  DEFAULT_START_TOLERANCE_MS,
  FCM_DEFAULT_RATE_PER_MINUTE,
  MAX_BATCH_SIZE,
  MAX_PLAN_SPAN_MS,
  MAX_PLAN_WAVES,
  MIN_RATE_PER_MINUTE,
  PUSH_PLATFORMS,
  type EffectiveRate,
  type PlanOptions,
  type PlannedWave,
  type PushPlatform,
  type RateLimitSource,
  type RateLimits,
  type WavePlan,
  type WavePlanInput,
  type WavePlanResult,
  type WaveSegment,
  type WaveStartReason,
  batchSizes,
  effectiveRate,
  planWaves,
  validateWavePlan,
} from './wave-plan';
export { DEFAULT_DISPATCH_SETTINGS, type DispatchSettings } from './dispatch-settings';
export * from './dispatch-settings-rules';
export {
  type CampaignLimits,
  type ProviderResult,
  type ResultPlan,
  type RetryPolicy,
  batchJobId,
  campaignLimits,
  chunk,
  type GuardName,
  type GuardVerdict,
  type GuardCounts,
  type GuardWindow,
  judgeGuards,
  heldJobId,
  heldRelease,
  nextWaveDue,
  planJobId,
  planResults,
  planningLimits,
  retryJobId,
  windowDelay,
} from './dispatch';
export {
  CAMPAIGN_STATUSES,
  CAMPAIGN_TRANSITIONS,
  EDITABLE_STATUSES,
  type ActorKind,
  type CampaignStatus,
  type CampaignTransition,
  type TransitionDecision,
  canMove,
  decide,
  isEditable,
  isFinal,
  isSending,
  sourcesOf,
  targetOf,
} from './campaign-lifecycle';
export * from './surge';
export * from './surge/idle-window';
export * from './origin-health';
export * from './funnel-histogram';
