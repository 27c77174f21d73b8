/**
 * What each fault test measured, in one shape, so `npm run test:faults` can print one table (tools/fault-summary.js)
 * and docs/operations.md can quote it. A test records its figures after asserting them: the file is what happened.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface FaultFigures {
  /** What was done, e.g. "Redis restarted (AOF everysec) mid-campaign". */
  fault: string;
  /** Devices (or waiting users) that never got their outcome. */
  lost: number;
  /** Devices that got a push more than once (or users admitted twice). */
  duplicated: number;
  /** Peak admitted sessions above the room's capacity (0 for a campaign). */
  overCapacity: number;
  /** Did the campaign complete / did every waiting user get in. */
  completed: boolean;
  /** Anything else worth printing: recovery seconds, statuses the admin API answered, … (numbers or short strings). */
  extra?: Record<string, number | string | boolean>;
}

const dir = path.resolve(__dirname, '../../../test-artifacts/faults');

/** Writes `test-artifacts/faults/<id>.json` and prints one line (the suite's table reads the files). */
export function recordFigures(id: string, figures: FaultFigures): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ id, ...figures, recordedAt: new Date().toISOString() }, null, 2));
  const extra = Object.entries(figures.extra ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(
    `fault ${id}: lost=${figures.lost} duplicated=${figures.duplicated} overCapacity=${figures.overCapacity} completed=${figures.completed} ${extra}\n`,
  );
}
