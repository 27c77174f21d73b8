/**
 * The send window with the most spare room capacity, from the room's traffic per hour of the week (what the gateways
 * observed, kept in PostgreSQL as `room_traffic`). Plain and deterministic: the forecast calls it to suggest when to
 * send.
 *
 * Hours of the week count from Monday 00:00 UTC (0) to Sunday 23:00 UTC (167).
 */

export const HOURS_PER_WEEK = 168;
export const WEEK_DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type WeekDay = (typeof WEEK_DAYS)[number];

/** One hour of the week as observed. */
export interface TrafficHour {
  /** 0 = Monday 00:00-01:00 UTC … 167 = Sunday 23:00-24:00 UTC. */
  hourOfWeek: number;
  /** Mean active sessions in that hour (over every sample taken in it); meaningless when `samples` is 0. */
  meanActive: number;
  /** How many samples of active sessions the mean is made of (0: this hour was never observed). */
  samples: number;
}

export interface WeekTime {
  day: WeekDay;
  hour: number;
}

export interface IdleWindow {
  /** First hour of the window (inclusive). */
  startHourOfWeek: number;
  /** Hour of the week the window ends at (exclusive); wraps past Sunday to Monday. */
  endHourOfWeek: number;
  start: WeekTime;
  end: WeekTime;
  timeZone: 'UTC';
  hours: number;
  /** Mean over the window's hours of capacity − typical active sessions. */
  meanSpare: number;
  /** The least spare capacity of any hour in the window. */
  minSpare: number;
}

/** The day and hour (UTC) of an hour of the week. */
export function weekTime(hourOfWeek: number): WeekTime {
  const h = ((hourOfWeek % HOURS_PER_WEEK) + HOURS_PER_WEEK) % HOURS_PER_WEEK;
  return { day: WEEK_DAYS[Math.floor(h / 24)]!, hour: h % 24 };
}

/** The hour of the week (0..167) of an instant, in UTC. */
export function hourOfWeek(epochMs: number): number {
  const d = new Date(epochMs);
  const day = (d.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return day * 24 + d.getUTCHours();
}

/**
 * The `windowHours`-long window (1..168 hours, starting on an hour) whose hours have the most spare capacity on
 * average; ties go to the earliest start in the week. Only windows whose every hour was observed are considered:
 * null when there is none (too little traffic seen yet), or when the window length is not a whole number of hours
 * from 1 to 168.
 */
export function bestIdleWindow(curve: readonly TrafficHour[], capacity: number, windowHours: number): IdleWindow | null {
  if (!Number.isInteger(windowHours) || windowHours < 1 || windowHours > HOURS_PER_WEEK) return null;
  const active: Array<number | null> = new Array<number | null>(HOURS_PER_WEEK).fill(null);
  for (const point of curve) {
    if (Number.isInteger(point.hourOfWeek) && point.hourOfWeek >= 0 && point.hourOfWeek < HOURS_PER_WEEK && point.samples > 0) {
      active[point.hourOfWeek] = point.meanActive;
    }
  }
  let best: IdleWindow | null = null;
  for (let start = 0; start < HOURS_PER_WEEK; start++) {
    let sum = 0;
    let min = Infinity;
    let complete = true;
    for (let i = 0; i < windowHours; i++) {
      const a = active[(start + i) % HOURS_PER_WEEK];
      if (a === null || a === undefined) {
        complete = false;
        break;
      }
      const spare = capacity - a;
      sum += spare;
      min = Math.min(min, spare);
    }
    if (!complete) continue;
    const meanSpare = sum / windowHours;
    if (best === null || meanSpare > best.meanSpare) {
      const end = (start + windowHours) % HOURS_PER_WEEK;
      best = {
        startHourOfWeek: start,
        endHourOfWeek: end,
        start: weekTime(start),
        end: weekTime(end),
        timeZone: 'UTC',
        hours: windowHours,
        meanSpare,
        minSpare: min,
      };
    }
  }
  return best;
}
