/**
 * Waiting rooms: the settings SREs tune (names as in other waiting-room products) and what the gateway's releaser
 * publishes about each room once a second.
 */
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
}

export const ROOM_DEFAULTS: RoomSettings = {
  totalActiveUsers: 1000,
  newUsersPerMinute: 600,
  sessionDurationSeconds: 300,
  queueingMethod: 'fifo',
  queueAll: false,
  suspended: false,
  maxWaitSeconds: 900,
};

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
  /** Estimated wait for someone arriving now, in seconds (null when nobody is admitted to measure a rate). */
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
}
