import { DEVICE_FIELDS, deviceProblems, endpointProblem, toDeviceData } from './device-rules';
import { parseCsvLine, readLines } from './import-format';
import { csvColumns, csvRow, ndjsonRow } from './devices-import.service';

const P256DH = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
const AUTH = Buffer.alloc(16, 2).toString('base64url');
const APNS = 'ab'.repeat(32);
const problems = (device: Record<string, unknown>) => deviceProblems(device, DEVICE_FIELDS).map((p) => p.field);

describe('device rules', () => {
  it('accepts one device of each platform', () => {
    expect(problems({ platform: 'apns', token: APNS })).toEqual([]);
    expect(problems({ platform: 'apns', token: 'AB'.repeat(100) })).toEqual([]);
    expect(problems({ platform: 'fcm', token: 'a:b_c-'.repeat(20) })).toEqual([]);
    expect(
      problems({ platform: 'webpush', token: 'https://updates.push.services.mozilla.com/wpush/v2/x', p256dh: P256DH, auth: AUTH }),
    ).toEqual([]);
    expect(problems({ platform: 'webpush', token: 'https://push.example.com/x', p256dh: `${P256DH}=`, auth: `${AUTH}==` })).toEqual([]);
  });

  it.each([
    [{ platform: 'apns', token: 'ab'.repeat(101) }, ['token']],
    [{ platform: 'fcm', token: 'a'.repeat(2049) }, ['token']],
    [{ platform: 'webpush', token: 'https://push.example.com/x' }, ['p256dh', 'auth']],
    [{ platform: 'webpush', token: 'https://push.example.com/x', p256dh: AUTH, auth: P256DH }, ['p256dh', 'auth']],
    [
      { platform: 'webpush', token: 'https://push.example.com/x', p256dh: Buffer.alloc(65, 3).toString('base64url'), auth: AUTH },
      ['p256dh'],
    ],
    [{ platform: 'webpush', token: 'https://push.example.com/x', p256dh: 'not base64!', auth: AUTH }, ['p256dh']],
    [{ platform: 'apns', token: APNS, p256dh: P256DH }, ['p256dh']],
    [
      { platform: 'apns', token: APNS, timezone: 'Mars/Base', locale: 'x y', tags: ['A'], user_id: '', app_version: 'x'.repeat(33) },
      ['user_id', 'timezone', 'locale', 'tags', 'app_version'],
    ],
    [{ token: APNS, color: 1 }, ['color', 'platform']],
  ])('refuses %p', (device, fields) => {
    expect(problems(device)).toEqual(fields);
  });

  it.each([
    ['http://push.example.com/x', /https/],
    ['https://127.0.0.1/x', /IP address/],
    ['https://0x7f.1/x', /IP address/],
    ['https://[fd00::1]/x', /IP address/],
    ['https://localhost./x', /public/],
    ['https://metadata/x', /public/],
    ['https://printer.local/x', /public/],
    ['https://a.svc.internal/x', /public/],
    ['https://u:p@push.example.com/x', /credentials/],
    ['https://push.example.com/x#y', /fragment/],
    ['not-a-url', /absolute/],
  ])('keeps the endpoint %p out (SSRF)', (endpoint, why) => {
    expect(endpointProblem(endpoint)).toMatch(why);
  });

  it.each(['https://push.example.com/sub\x1e17\x1ffcm', 'https://push.example.com/a\x00b', 'https://push.example.com/a\x7fb'])(
    'refuses an endpoint holding a control character (%j): no push service issues one',
    (endpoint) => {
      expect(endpointProblem(endpoint)).toMatch(/control characters/);
      expect(problems({ platform: 'webpush', token: endpoint, p256dh: P256DH, auth: AUTH })).toEqual(['token']);
    },
  );

  it('stores canonical values', () => {
    expect(
      toDeviceData({ platform: 'apns', token: APNS.toUpperCase(), timezone: 'asia/tokyo', locale: 'EN-gb', tags: ['a', 'a', 'b'] }),
    ).toEqual({
      platform: 'apns',
      token: APNS,
      p256dh: null,
      auth: null,
      userId: null,
      timezone: 'Asia/Tokyo',
      locale: 'en-GB',
      tags: ['a', 'b'],
      appVersion: null,
    });
  });
});

describe('import formats', () => {
  it('parses CSV lines with quotes', () => {
    expect(parseCsvLine('a,b,,')).toEqual(['a', 'b', '', '']);
    expect(parseCsvLine('"a,1","say ""hi""",c')).toEqual(['a,1', 'say "hi"', 'c']);
    expect(parseCsvLine('"open')).toEqual({ error: expect.stringMatching(/not closed/) as unknown });
    expect(parseCsvLine('"a"b')).toEqual({ error: expect.stringMatching(/followed by a comma/) as unknown });
    expect(parseCsvLine('a"b,c')).toEqual({ error: expect.stringMatching(/must be quoted/) as unknown });
  });

  it('splits lines across chunks, drops a BOM and CR, and skips an over-long line without keeping it', async () => {
    async function* chunks() {
      await Promise.resolve();
      yield Buffer.from('\ufeffone\r\ntw');
      yield Buffer.from('o\n');
      yield 'x'.repeat(30);
      yield 'y'.repeat(30);
      yield '\nthree';
    }
    const lines = [];
    for await (const line of readLines(chunks(), 40)) lines.push(line);
    expect(lines).toEqual([
      { number: 1, text: 'one' },
      { number: 2, text: 'two' },
      { number: 3, text: '', tooLong: true },
      { number: 4, text: 'three' },
    ]);
  });

  it('checks the CSV header and maps cells to fields', () => {
    const columns = csvColumns({ number: 1, text: 'Platform, token ,tags' });
    expect(columns).toEqual(['platform', 'token', 'tags']);
    expect(csvRow(columns, { number: 2, text: `apns,${APNS},a|b` })).toMatchObject({ ok: true, device: { tags: ['a', 'b'] } });
    expect(csvRow(columns, { number: 2, text: `apns,${APNS}` })).toEqual({
      ok: false,
      problems: [{ field: 'row', message: 'has 2 fields, the header has 3' }],
    });
    expect(() => csvColumns({ number: 1, text: 'platform,token,token,x' })).toThrow();
    expect(ndjsonRow({ number: 1, text: `{"platform":"apns","token":"${APNS}","last_seen_at":"2026-01-01T00:00:00Z"}` })).toMatchObject({
      ok: true,
      device: { lastSeenAt: new Date('2026-01-01T00:00:00Z') },
    });
  });
});
