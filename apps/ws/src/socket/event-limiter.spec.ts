import { OTHER_EVENTS, SocketEventLimiter } from './event-limiter';

const known = new Set(['heartbeat.v1', 'leave.v1']);
const limiter = () => new SocketEventLimiter({ perSecond: 2, burst: 3, floodLimit: 5 }, known);

describe('SocketEventLimiter', () => {
  it('accepts a burst, then drops, telling once per run of drops', () => {
    const l = limiter();
    expect([1, 2, 3].map(() => l.check('heartbeat.v1', 0).kind)).toEqual(['accept', 'accept', 'accept']);
    expect(l.check('heartbeat.v1', 0)).toEqual({ kind: 'drop', tell: true, retryAfterMs: 500 });
    expect(l.check('heartbeat.v1', 0)).toEqual({ kind: 'drop', tell: false, retryAfterMs: 500 });
  });

  it('refills at the sustained rate, and an accepted event starts a new run', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.check('heartbeat.v1', 0);
    expect(l.check('heartbeat.v1', 0).kind).toBe('drop');
    expect(l.check('heartbeat.v1', 250)).toEqual({ kind: 'drop', tell: false, retryAfterMs: 250 });
    expect(l.check('heartbeat.v1', 500).kind).toBe('accept');
    expect(l.check('heartbeat.v1', 500)).toMatchObject({ kind: 'drop', tell: true });
    // A polite client (one every 500 ms) is never dropped.
    for (let t = 1000; t < 20_000; t += 500) expect(l.check('heartbeat.v1', t).kind).toBe('accept');
  });

  it('disconnects a socket that keeps flooding', () => {
    const l = limiter();
    const verdicts = Array.from({ length: 8 }, () => l.check('heartbeat.v1', 0).kind);
    expect(verdicts).toEqual(['accept', 'accept', 'accept', 'drop', 'drop', 'drop', 'drop', 'disconnect']);
  });

  it('counts each kind of event on its own, and every unknown event in one shared bucket', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.check('heartbeat.v1', 0);
    expect(l.check('heartbeat.v1', 0).kind).toBe('drop');
    expect(l.check('leave.v1', 0).kind).toBe('accept');
    expect(l.kindOf('made-up')).toBe(OTHER_EVENTS);
    expect(['a', 'b', 'c', 'd'].map((e) => l.check(e, 0).kind)).toEqual(['accept', 'accept', 'accept', 'drop']);
  });
});
