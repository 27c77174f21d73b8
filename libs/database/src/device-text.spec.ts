import fc from 'fast-check';
import type { Platform } from '@prisma/client';
import { readDeviceText } from './device-text';

interface Row {
  id: string;
  platform: Platform;
  token: string;
  p256dh: string | null;
  auth: string | null;
  timezone?: string;
}

/** What PostgreSQL's `string_agg(concat_ws(…))` makes of these rows (device-text.ts). */
function joinedLikePostgres(rows: Row[], zone: boolean): string | null {
  if (rows.length === 0) return null;
  return rows
    .map((r) => [r.id, r.platform, r.token, r.p256dh ?? '', r.auth ?? '', ...(zone ? [r.timezone ?? 'UTC'] : [])].join('\x1f'))
    .join('\x1e');
}

const same = (p: Platform) => p;
const fcm: Row = { id: '17', platform: 'fcm', token: 'f'.repeat(152), p256dh: null, auth: null, timezone: 'Europe/Paris' };
const web: Row = {
  id: '18',
  platform: 'webpush',
  token: 'https://fcm.googleapis.com/fcm/send/abc?x=1&y=2',
  p256dh: 'B'.repeat(87),
  auth: 'A'.repeat(22),
  timezone: 'UTC',
};

describe('readDeviceText', () => {
  it('reads every device of the joined text, keys null where the row had none', () => {
    const rows = [fcm, web];
    const { timezone: _fz, ...fcmDevice } = fcm;
    const { timezone: _wz, ...webDevice } = web;
    expect(readDeviceText(2, joinedLikePostgres(rows, false), false, same)).toEqual([fcmDevice, webDevice]);
    expect(readDeviceText(2, joinedLikePostgres(rows, true), true, same)).toEqual([fcm, web]);
  });

  it('reads no device from no row', () => {
    expect(readDeviceText(0, null, false, same)).toEqual([]);
    expect(readDeviceText(1, null, false, same)).toBeNull();
  });

  it('gives up (null: read the rows) when a value holds a separator, however it is placed', () => {
    const spoof = { ...web, token: `https://push.example.com/a\x1fx\x1fy\x1e19\x1ffcm\x1fstolen` };
    expect(readDeviceText(2, joinedLikePostgres([fcm, spoof], false), false, same)).toBeNull();
    const field = { ...web, token: 'https://push.example.com/a\x1fb' };
    expect(readDeviceText(2, joinedLikePostgres([fcm, field], false), false, same)).toBeNull();
    expect(readDeviceText(2, joinedLikePostgres([fcm, field], true), true, same)).toBeNull();
    const record = { ...web, auth: 'A\x1eB' };
    expect(readDeviceText(2, joinedLikePostgres([fcm, record], false), false, same)).toBeNull();
  });

  it('gives up when the count does not match the records', () => {
    expect(readDeviceText(3, joinedLikePostgres([fcm, web], false), false, same)).toBeNull();
    expect(readDeviceText(1, joinedLikePostgres([fcm, web], false), false, same)).toBeNull();
  });

  it('either reads exactly the rows or gives up, whatever the values hold (property)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', '7', ':', '/', '\x1e', '\x1f', '\u00e9'), minLength: 1, maxLength: 12 });
    const row = fc.record({
      id: fc.integer({ min: 1, max: 1e9 }).map(String),
      platform: fc.constantFrom<Platform>('fcm', 'apns', 'webpush'),
      token: text,
      p256dh: fc.option(text, { nil: null }),
      auth: fc.option(text, { nil: null }),
      timezone: fc.constantFrom('UTC', 'Asia/Tokyo'),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 6 }), fc.boolean(), (rows, zone) => {
        const read = readDeviceText(rows.length, joinedLikePostgres(rows, zone), zone, same);
        const clean = rows.every((r) => ![r.token, r.p256dh ?? '', r.auth ?? ''].some((v) => v.includes('\x1e') || v.includes('\x1f')));
        if (!clean) return read === null;
        const expected = rows.map(({ timezone, ...r }) => (zone ? { ...r, timezone } : r));
        return read !== null && JSON.stringify(read) === JSON.stringify(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
