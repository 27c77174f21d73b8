/**
 * When one recipient may be sent to under both rules at once: the campaign's send window (in the window's zone) and
 * the recipient's quiet hours (in their own zone). The two can exclude each other: a 01:00–06:00 Paris window and
 * 22:00–08:00 quiet hours leave no instant for a recipient in Paris. `nextSendTime` says so (null) instead of looping.
 */
import { type QuietHours, quietUntil } from './quiet-hours';
import { type SendWindow, nextWindowOpen } from './send-window';
import { DAY_MS } from './time-zone';

/** How far ahead `nextSendTime` looks by default: a week and a day covers every weekly pattern. */
export const DEFAULT_SEND_TIME_HORIZON_MS = 8 * DAY_MS;

/**
 * The earliest instant at or after `after` inside the send window (none: any time) and outside the recipient's quiet
 * hours (none: never quiet) in `timezone` (unknown or missing: UTC); null when there is none within `horizonMs`
 * (default eight days), which means the rules exclude this recipient altogether.
 */
export function nextSendTime(
  window: SendWindow | null | undefined,
  quietHours: QuietHours | null | undefined,
  timezone: string | null | undefined,
  after: Date,
  horizonMs = DEFAULT_SEND_TIME_HORIZON_MS,
): Date | null {
  const limit = after.getTime() + horizonMs;
  let t = after;
  // Each step moves t forward to a window opening or to the end of a quiet period: at most a few per day.
  for (let step = 0; step < 4 * Math.ceil(horizonMs / DAY_MS) + 4 && t.getTime() <= limit; step++) {
    const open = window ? nextWindowOpen(window, t) : t;
    const free = quietHours ? quietUntil(quietHours, timezone, open) : open;
    if (free.getTime() === open.getTime()) return open.getTime() <= limit ? open : null;
    t = free;
  }
  return null;
}
