import { idRanges, RANGE_SLACK, RUN_GAP } from './id-ranges';

const run = (from: number, n: number, step = 1) => Array.from({ length: n }, (_, i) => String(from + i * step));

describe('idRanges: a send batch as id ranges', () => {
  it('reads one run of consecutive ids as one range, exactly', () => {
    expect(idRanges(run(5000, 500))).toEqual({ ranges: [5000, 5499, 1, 0], exact: true });
    expect(idRanges(['7'])).toEqual({ ranges: [7, 7, 1, 0], exact: true });
  });

  it('reads two runs (a batch across two blocks of its partition) as two ranges', () => {
    expect(idRanges([...run(1000, 24), ...run(12_264, 476)])).toEqual({ ranges: [1000, 1023, 12_264, 12_739], exact: true });
  });

  it('keeps small holes in a range (not exact) while it reads at most RANGE_SLACK times the ids', () => {
    const holes = run(100, 40).filter((id) => id !== '110' && id !== '120');
    expect(idRanges(holes)).toEqual({ ranges: [100, 139, 1, 0], exact: false });
    // Every other id: twice the rows, over the slack.
    expect(2).toBeGreaterThan(RANGE_SLACK);
    expect(idRanges(run(100, 40, 2))).toBeNull();
  });

  it('takes the lookup by id for three runs, scattered ids, unsorted ids or anything but plain decimals', () => {
    expect(idRanges([...run(1, 10), ...run(1000, 10), ...run(5000, 10)])).toBeNull();
    expect(idRanges(run(1, 500, 12))).toBeNull();
    expect(idRanges(['5', '4'])).toBeNull();
    expect(idRanges(['5', '5'])).toBeNull();
    for (const bad of ['x', '', ' 5', '05', '1e3', '0x10', '9007199254740993', '-1']) {
      expect(idRanges(['1', bad].sort())).toBeNull();
      expect(idRanges([bad])).toBeNull();
    }
  });

  it('starts a new run only past RUN_GAP', () => {
    expect(idRanges([...run(1, 300), String(300 + RUN_GAP)])?.ranges).toEqual([1, 300 + RUN_GAP, 1, 0]);
    expect(idRanges([...run(1, 300), String(301 + RUN_GAP)])?.ranges).toEqual([1, 300, 301 + RUN_GAP, 301 + RUN_GAP]);
  });
});
