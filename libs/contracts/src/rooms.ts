/**
 * Waiting rooms: the settings SREs tune (names as in other waiting-room products) and what the gateway's releaser
 * publishes about each room once a second.
 */
/** A room's id: a slug, used in Redis keys and URLs. Every app refuses any other before using it. */
export const ROOM_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const QUEUEING_METHODS = ['fifo', 'passthrough', 'reject'] as const;
/**
 * - `fifo`: when the origin is full, arrivals take a ticket and are admitted in arrival order.
 * - `passthrough`: everyone is admitted at once (sessions are still counted), and the line drains: those already
 *   waiting go in; for testing and emergencies.
 * - `reject`: when the origin is full, arrivals are refused (503) instead of queued.
 */
export type QueueingMethod = (typeof QUEUEING_METHODS)[number];

export interface RoomSettings {
  /** Concurrent sessions the origin can hold. */
  totalActiveUsers: number;
  /** Admission rate: new sessions per minute, at most. */
  newUsersPerMinute: number;
  /** Idle timeout of a session, renewed by every request through the gate. */
  sessionDurationSeconds: number;
  queueingMethod: QueueingMethod;
  /** Emergency brake: queue everyone, admit nobody (sessions already admitted continue). */
  queueAll: boolean;
  /**
   * The room is closed for now: nobody new is admitted (sessions already admitted continue); newcomers take a place
   * in line behind those waiting, and everyone waiting is told the room is suspended until it reopens.
   */
  suspended: boolean;
  /** The wait a room is meant to keep under; the scheduler paces waves by it. */
  maxWaitSeconds: number;
  /** Origin health: the origin is unhealthy while its p95 latency over the window is above this (ms). */
  originMaxP95Ms: number;
  /** Origin health: unhealthy while the share of requests failing (5xx, connection errors) is above this (0..1). */
  originMaxErrorRate: number;
  /** Origin health: judged only on windows with at least this many requests. */
  originMinRequests: number;
  /** While the origin is unhealthy the admission rate is multiplied by this (0..1; 0 admits nobody new). */
  unhealthyAdmissionFactor: number;
}

export const ROOM_DEFAULTS: RoomSettings = {
  totalActiveUsers: 1000,
  newUsersPerMinute: 600,
  sessionDurationSeconds: 300,
  queueingMethod: 'fifo',
  queueAll: false,
  suspended: false,
  maxWaitSeconds: 900,
  originMaxP95Ms: 2000,
  originMaxErrorRate: 0.2,
  originMinRequests: 20,
  unhealthyAdmissionFactor: 0.5,
};

/**
 * The health of a room's origin as the gateways measure it (every request proxied to it, over a sliding window of
 * ORIGIN_WINDOW_SECONDS, all gateways together), judged by the room's thresholds with hysteresis.
 *
 * Contract for readers (the scheduler's pacing holds campaigns feeding the room while `healthy` is false): `healthy`
 * turns false as soon as a window with at least `originMinRequests` requests breaks a threshold, and true again only
 * once the window has stayed within them for ORIGIN_RECOVER_SECONDS.
 */
export interface RoomOriginHealth {
  healthy: boolean;
  /** Since when (ms since the epoch) `healthy` has had its present value. */
  since: number;
  /** What broke a threshold ('latency' or 'errors'), while unhealthy; null while healthy. */
  reason: 'latency' | 'errors' | null;
  /** Requests proxied to the origin in the window (answers and connection errors). */
  requests: number;
  /** Latency percentiles of the answers in the window, in ms (null: no answer in the window). */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Share of the window's requests that failed: 5xx answers and connection errors (0..1). */
  errorRate: number;
  /** What the admission rate is multiplied by right now (1 while healthy; unhealthy_admission_factor otherwise). */
  admissionFactor: number;
}

/** The sliding window origin health is measured over. */
export const ORIGIN_WINDOW_SECONDS = 30;
/** How long the window must stay within the thresholds before an unhealthy origin is healthy again. */
export const ORIGIN_RECOVER_SECONDS = 10;

/** A room's state as the releaser sees it, published once a second for the ws app and the scheduler. */
export interface RoomSnapshot {
  roomId: string;
  /** Milliseconds since the epoch when this snapshot was taken. */
  at: number;
  /** Last ticket number issued. */
  tickets: number;
  /** Every ticket up to this number has been admitted or skipped. */
  serving: number;
  /** Tickets after `serving` that left (explicitly or by going silent) and will be skipped. */
  gone: number;
  /** People waiting: tickets - serving - gone. */
  waiting: number;
  /** Sessions currently admitted. */
  active: number;
  /** Admissions in the last minute (measured, not configured). */
  admittedPerMinute: number;
  /**
   * Estimated wait for someone arriving now, in seconds: from the room's configured capacity blended with the measured
   * rate (libs/admission roomEtaSeconds); null when the room admits nobody.
   */
  estimatedWaitSeconds: number | null;
  /** Age of the oldest waiting ticket in seconds (0 when nobody waits). */
  oldestTicketAgeSeconds: number;
  /**
   * Estimated wait over maxWaitSeconds: above 1 the room is over its wait budget. Null when people wait but nobody
   * was admitted in the last minute (stalled: full, queue_all, or no capacity freed).
   */
  pressure: number | null;
  queueAll: boolean;
  suspended: boolean;
  /**
   * The origin's health (see RoomOriginHealth). Absent in snapshots written by gateways older than origin health:
   * readers take a missing `origin` as healthy.
   */
  origin?: RoomOriginHealth;
  /**
   * The room's configured capacity when the snapshot was taken: what ETAs are computed from (with the measured rate).
   * Absent in snapshots of older gateways: readers then use the measured rate alone.
   */
  capacity?: RoomCapacitySettings;
}

/** The capacity settings ETAs need. */
export interface RoomCapacitySettings {
  totalActiveUsers: number;
  newUsersPerMinute: number;
  sessionDurationSeconds: number;
}
