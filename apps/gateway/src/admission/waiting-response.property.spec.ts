/** The waiting JSON written from a template is JSON.stringify of waitingJson's object, byte for byte (fast-check). */
import fc from 'fast-check';
import { ROOM_DEFAULTS, type RoomSnapshot } from '@tidegate/contracts';
import type { GatewayRoom } from './room-registry';
import { waitingJson, waitingJsonText } from './waiting-response';

const text = fc.string({ maxLength: 40, unit: 'binary' });
const count = fc.integer({ min: 0, max: 5_000_000 });

const room = fc.record({
  id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
  name: text,
  message: fc.option(text, { nil: null }),
  queueAll: fc.boolean(),
  suspended: fc.boolean(),
  totalActiveUsers: fc.integer({ min: 1, max: 100_000 }),
  newUsersPerMinute: fc.integer({ min: 0, max: 100_000 }),
  sessionDurationSeconds: fc.integer({ min: 1, max: 86_400 }),
});

const snapshot = fc.option(
  fc.record({
    active: count,
    admittedPerMinute: count,
    oldestTicketAgeSeconds: count,
    admissionFactor: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  }),
  { nil: undefined },
);

describe('waitingJsonText', () => {
  beforeAll(() => jest.useFakeTimers({ now: new Date('2026-12-06T09:30:00.123Z'), doNotFake: ['nextTick', 'setImmediate'] }));
  afterAll(() => jest.useRealTimers());

  it('writes exactly what JSON.stringify writes for waitingJson, for any room, place, ticket and snapshot', () => {
    fc.assert(
      fc.property(
        room,
        fc.integer({ min: -2, max: 10_000_000 }),
        text,
        snapshot,
        fc.integer({ min: 1, max: 3600 }),
        fc.option(fc.webUrl(), { nil: null }),
        fc.integer({ min: 1, max: 3 }),
        (r, position, ticket, snap, graceSeconds, socketUrl, calls) => {
          const gatewayRoom: GatewayRoom = {
            id: r.id,
            name: r.name,
            message: r.message,
            origin: new URL('http://127.0.0.1:1'),
            settings: { ...ROOM_DEFAULTS, ...r },
          };
          const snapshotOf =
            snap &&
            ({
              ...snap,
              origin: snap.admissionFactor === undefined ? undefined : { admissionFactor: snap.admissionFactor },
            } as unknown as RoomSnapshot);
          const args = { room: gatewayRoom, position, ticket, snapshot: snapshotOf, graceSeconds, socketUrl };
          // Several calls: the template made by the first is reused by the next.
          for (let i = 0; i < calls; i++) expect(waitingJsonText(args)).toBe(JSON.stringify(waitingJson(args)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('follows a change of the room (same object, new settings) and of the options', () => {
    const r: GatewayRoom = {
      id: 'shop',
      name: 'Shop',
      message: null,
      origin: new URL('http://127.0.0.1:1'),
      settings: { ...ROOM_DEFAULTS },
    };
    const args = {
      room: r,
      position: 7,
      ticket: 'shop.7.1765000000.AAAAAAAAAAAAAAAAAAAAAA',
      snapshot: undefined,
      graceSeconds: 60,
      socketUrl: null,
    };
    expect(waitingJsonText(args)).toBe(JSON.stringify(waitingJson(args)));
    r.name = 'Shop "sale"';
    r.message = 'Back soon';
    r.settings = { ...r.settings, suspended: true, queueAll: true };
    expect(waitingJsonText(args)).toBe(JSON.stringify(waitingJson(args)));
    const other = { ...args, graceSeconds: 30, socketUrl: 'https://ws.example.com' };
    expect(waitingJsonText(other)).toBe(JSON.stringify(waitingJson(other)));
  });
});
