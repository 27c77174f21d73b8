/**
 * A send batch's ids as id ranges (DispatchRepository.activeDevices): a batch of a campaign partitioned by blocks of
 * consecutive ids (libs/redis dispatch-partitions.ts) is one or two runs of them, which PostgreSQL reads as ranges far
 * cheaper than it looks the ids up one by one. Pure.
 */

/** Ids read by ranges at most this much more than the batch (holes: devices of no campaign's batch, or inactive). */
export const RANGE_SLACK = 1.25;

/** Ids further apart than this start a new run. */
export const RUN_GAP = 64;

/**
 * The one or two id ranges covering `ids` (ascending decimal ids), `[lo1, hi1, lo2, hi2]` (the second `1, 0`, empty,
 * for one run), and whether every id in them is one of `ids` (no hole); null when the ids are not ascending decimals,
 * need more ranges, or the ranges would read over RANGE_SLACK times as many rows as there are ids.
 */
export function idRanges(ids: readonly string[]): { ranges: [number, number, number, number]; exact: boolean } | null {
  // Only ids spelled as the decimal of a safe integer (anything else takes the lookup by id, which casts and refuses).
  const decimal = (text: string | undefined, n: number) => Number.isSafeInteger(n) && n >= 0 && String(n) === text;
  const first = Number(ids[0]);
  if (!decimal(ids[0], first)) return null;
  const ranges: [number, number, number, number] = [first, first, 1, 0];
  let run = 0;
  let prev = first;
  for (let i = 1; i < ids.length; i++) {
    const id = Number(ids[i]);
    if (!decimal(ids[i], id) || id <= prev) return null;
    if (id - prev > RUN_GAP) {
      if (run === 1) return null;
      run = 1;
      ranges[2] = id;
    }
    ranges[run * 2 + 1] = id;
    prev = id;
  }
  const covered = ranges[1] - ranges[0] + 1 + (run === 1 ? ranges[3] - ranges[2] + 1 : 0);
  if (covered > ids.length * RANGE_SLACK) return null;
  return { ranges, exact: covered === ids.length };
}
