import {
  clientWindowArgs,
  decodeArrivals,
  decodeArrive,
  decodeCounted,
  decodeLeave,
  decodeRelease,
  decodeStatus,
  decodeTouch,
} from './admission-results';

describe('admission script results', () => {
  it('decodes each answer of arrive and status into a named object', () => {
    expect(decodeArrive(['admitted', 1700], 'sAbc')).toEqual({ kind: 'admitted', sessionId: 'sAbc', expiresAtMs: 1700 });
    expect(decodeArrive(['ticket', 7, 3, 4, 1765000001], 'x')).toEqual({ kind: 'ticket', ticket: 7, position: 3, issuedAt: 1765000001 });
    expect(() => decodeArrive(['ticket', 7, 3, 4], 'x')).toThrow(/contract/);
    expect(decodeArrive(['rejected', 10], 'x')).toEqual({ kind: 'rejected', active: 10 });
    expect(decodeArrive(['unknown'], 'x')).toEqual({ kind: 'unknown' });
    expect(decodeStatus(['waiting', 2, 5, 9], 7)).toEqual({ kind: 'waiting', position: 2 });
    expect(decodeStatus(['admitted', 1800, 1765000001], 7)).toEqual({ kind: 'admitted', sessionId: 't1765000001-7', expiresAtMs: 1800 });
    // Line 0: a line begun before lines had a start keeps the sessions' old names.
    expect(decodeStatus(['admitted', 1800, 0], 7)).toEqual({ kind: 'admitted', sessionId: 't7', expiresAtMs: 1800 });
    expect(decodeStatus(['expired'], 7)).toEqual({ kind: 'expired' });
  });

  it('decodes leave, touch and release', () => {
    expect(decodeLeave([1, 0])).toEqual({ ticketLeft: true, sessionEnded: false });
    expect(decodeTouch([0])).toBeNull();
    expect(decodeTouch([-1])).toBeNull();
    expect(decodeTouch([1234])).toBe(1234);
    expect(decodeRelease([2, 1, 10, 20, 3, 5, 60, 4000, 99, 3, 1, 2])).toEqual({
      admitted: 2,
      skipped: 1,
      serving: 10,
      tickets: 20,
      gone: 3,
      active: 5,
      admitsLastMinute: 60,
      oldestTicketAgeMs: 4000,
      nowMs: 99,
      mode: 'passthrough',
      parked: 1,
      away: 2,
    });
    expect(decodeRelease([0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0])).toBeNull();
  });

  it("splits a counting script's reply into the client's count and the answer", () => {
    expect(decodeCounted('arrive', [3, 9000, 0, 'ticket', 7, 3, 4])).toEqual({
      count: { hits: 3, resetMs: 9000, blocked: false },
      answer: ['ticket', 7, 3, 4],
    });
    expect(decodeCounted('touch', [0, 0, 0, 1234])).toEqual({ count: { hits: 0, resetMs: 0, blocked: false }, answer: [1234] });
    expect(decodeCounted('status', [11, 4000, 1])).toEqual({ count: { hits: 11, resetMs: 4000, blocked: true }, answer: null });
    expect(() => decodeCounted('status', [11, 4000, 1, 'waiting', 1])).toThrow(/status/);
    expect(() => decodeCounted('status', [1, 4000, 0])).toThrow(/status/);
    expect(() => decodeCounted('status', [1, 4000, 2, 'waiting'])).toThrow(/status/);
  });

  it('passes a client window to the scripts, or limit 0 and a key of the room when nothing is counted', () => {
    expect(clientWindowArgs(null, 'room-config')).toEqual({ key: 'room-config', args: [0, 0, 0] });
    expect(clientWindowArgs({ key: 'c', windowMs: 10_000.4, limit: 100.7, blockMs: 0 }, 'x')).toEqual({ key: 'c', args: [10_001, 100, 0] });
  });

  it('refuses a reply its contract does not allow, instead of reading it as another answer', () => {
    expect(() => decodeArrive(['suspended'], 'x')).toThrow(/arrive answered \["suspended"\]/);
    expect(() => decodeStatus(['waiting'], 1)).toThrow(/status/);
    expect(() => decodeLeave([1])).toThrow(/leave/);
    expect(() => decodeRelease([1, 2, 3])).toThrow(/release/);
    expect(() => decodeRelease([0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0])).toThrow(/release/);
  });

  it('decodes a batch of arrivals one counted answer each, in order, and refuses a reply without one answer per arrival', () => {
    const ids = ['sA', 'sB', 'sC'];
    expect(
      decodeArrivals(
        [
          [0, 0, 0, 'admitted', 1700],
          [2, 9000, 1],
          [3, 8000, 0, 'ticket', 7, 3, 4, 1765000001],
        ],
        ids,
      ),
    ).toEqual([
      { count: { hits: 0, resetMs: 0, blocked: false }, result: { kind: 'admitted', sessionId: 'sA', expiresAtMs: 1700 } },
      { count: { hits: 2, resetMs: 9000, blocked: true }, result: null },
      { count: { hits: 3, resetMs: 8000, blocked: false }, result: { kind: 'ticket', ticket: 7, position: 3, issuedAt: 1765000001 } },
    ]);
    // Each proposed session id goes to its own arrival.
    expect(
      decodeArrivals(
        [
          [0, 0, 0, 'rejected', 1],
          [0, 0, 0, 'admitted', 5],
        ],
        ['s1', 's2'],
      )[1]?.result,
    ).toEqual({
      kind: 'admitted',
      sessionId: 's2',
      expiresAtMs: 5,
    });
    // One answer short, one too many, none at all: a contract breach, not fewer arrivals answered.
    expect(() =>
      decodeArrivals(
        [
          [0, 0, 0, 'unknown'],
          [0, 0, 0, 'unknown'],
        ],
        ids,
      ),
    ).toThrow(/arrive/);
    expect(() =>
      decodeArrivals(
        [
          [0, 0, 0, 'unknown'],
          [0, 0, 0, 'unknown'],
          [0, 0, 0, 'unknown'],
          [0, 0, 0, 'unknown'],
        ],
        ids,
      ),
    ).toThrow(/arrive/);
    expect(() => decodeArrivals([], ['s'])).toThrow(/arrive/);
    expect(() => decodeArrivals('OK', ['s'])).toThrow(/arrive/);
    // An answer that is not a counted reply.
    expect(() => decodeArrivals(['ticket'], ['s'])).toThrow(/arrive/);
    expect(() => decodeArrivals([[0, 0, 0, 'suspended']], ['s'])).toThrow(/arrive/);
  });
});
