import { latencyBucket } from '@tidegate/domain';
import { decodeOriginWindow, emptyOriginSecond, encodeOriginSecond } from './origin-stats-store';
import { decodeTrafficDrain } from './room-traffic-store';

describe('origin counts in Redis: encoding and decoding', () => {
  it('writes only the counters that are not zero, and reads them back as a window', () => {
    const second = emptyOriginSecond();
    second.requests = 7;
    second.latency[latencyBucket(30)] = 5;
    second.errors.status_5xx = 1;
    second.errors.refused = 1;
    const fields = encodeOriginSecond(second);
    expect(fields).toEqual(['r', 7, `b${latencyBucket(30)}`, 5, 'e:status_5xx', 1, 'e:refused', 1]);
    expect(decodeOriginWindow(fields)).toEqual({ requests: 7, latency: second.latency, errors: second.errors });
  });

  it('ignores fields it does not know and counts that are not numbers', () => {
    const window = decodeOriginWindow(['r', '3', 'b99', '4', 'e:meteor', '1', 'x', '2', 'e:timeout', 'NaN']);
    expect(window.requests).toBe(3);
    expect(window.latency.every((n) => n === 0)).toBe(true);
    expect(window.errors).toEqual({ status_5xx: 0, refused: 0, reset: 0, timeout: 0, other: 0 });
    expect(decodeOriginWindow(null).requests).toBe(0);
  });

  it('reads traffic counts per hour of the week, skipping hours out of range', () => {
    expect(decodeTrafficDrain(['5:a', '3', '5:s', '40', '5:n', '2', '200:a', '1', '0:n', '1', 'junk', '9'])).toEqual([
      { hourOfWeek: 0, arrivals: 0, activeSum: 0, samples: 1 },
      { hourOfWeek: 5, arrivals: 3, activeSum: 40, samples: 2 },
    ]);
  });
});
