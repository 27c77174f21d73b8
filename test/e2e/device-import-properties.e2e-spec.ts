/**
 * Device imports against arbitrary lines (fast-check; the seed prints on failure): CSV and NDJSON uploads mixing
 * valid rows, valid rows with a field replaced by arbitrary JSON, and arbitrary text. As docs/devices.md says: never
 * a 5xx; bad rows never fail the import; every row is accepted or rejected (each rejection naming a line of the
 * upload); the devices table grows by exactly `inserted`; a valid row is never rejected and a line of junk never
 * accepted. An upload refused before any row is read (empty, a bad CSV header) writes nothing.
 */
import fc from 'fast-check';
import { PrismaService } from '@tidegate/database';
import { adminFetch } from '../support/admin-api';
import { startScheduler, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { createTestRedis, type TestRedis } from '../support/redis';

jest.setTimeout(120_000);

const RUNS = 100;

interface ImportAnswer {
  rows: number;
  accepted: number;
  rejected: number;
  inserted: number;
  updated: number;
  errors: Array<{ line: number; field: string; message: string }>;
}
type Line = { kind: 'valid' | 'junk' | 'mutated'; text: string };

const fcmToken = fc.stringMatching(/^[A-Za-z0-9_-]{20}:APA91b[A-Za-z0-9_-]{120}$/);
const apnsToken = fc.stringMatching(/^[0-9a-f]{64}$/);
const device = fc.oneof(
  fcmToken.map((token) => ({ platform: 'fcm', token, tags: ['vip'], timezone: 'Europe/Paris' })),
  apnsToken.map((token) => ({ platform: 'apns', token, tags: ['a', 'b'], locale: 'fr-FR' })),
);
/** A line of arbitrary text that is not blank and holds no line break. */
const junkText = fc
  .string({ minLength: 1, maxLength: 120, unit: 'binary' })
  .map((s) => s.replace(/[\r\n\u2028\u2029]/g, ' '))
  .filter((s) => s.trim() !== '');

describe('device imports against arbitrary lines', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let scheduler: RunningApp;
  let prisma: PrismaService;
  let key: string;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    prisma = scheduler.app.get(PrismaService);
    key = (await createRoleKeys(scheduler.app)).marketer;
  });

  afterAll(async () => {
    await scheduler?.close();
    await Promise.all([redis?.cleanup(), db?.drop()]);
  });

  const devices = () => prisma.device.count();

  async function upload(raw: string, type: string): Promise<{ status: number; body: ImportAnswer; text: string }> {
    const res = await adminFetch(scheduler.url, 'POST', '/admin/devices/import', { key, raw, type });
    const text = await res.text();
    let body = {} as ImportAnswer;
    try {
      body = JSON.parse(text) as ImportAnswer;
    } catch {
      // asserted on the status
    }
    return { status: res.status, body, text };
  }

  /** The documented import semantics for `lines` (line numbers of the upload start at `first`). */
  async function checkImport(raw: string, type: string, lines: Line[], first: number): Promise<void> {
    const before = await devices();
    const { status, body, text } = await upload(raw, type);
    if (status !== 200) throw new Error(`the import answered ${status}: ${text.slice(0, 300)}`);
    expect(body.rows).toBe(lines.length);
    expect(body.accepted + body.rejected).toBe(body.rows);
    expect(body.inserted + body.updated).toBe(body.accepted);
    expect((await devices()) - before).toBe(body.inserted);
    const rejectedLines = new Set(body.errors.map((e) => e.line));
    for (const e of body.errors) {
      expect(e.line).toBeGreaterThanOrEqual(first);
      expect(e.line).toBeLessThan(first + lines.length);
    }
    expect(rejectedLines.size).toBe(body.rejected);
    lines.forEach((line, i) => {
      if (line.kind === 'valid') expect(rejectedLines.has(first + i)).toBe(false);
      if (line.kind === 'junk') expect(rejectedLines.has(first + i)).toBe(true);
    });
  }

  it('NDJSON: valid rows, mutated rows and junk lines', async () => {
    const mutated = fc
      .tuple(
        device,
        fc.constantFrom('platform', 'token', 'tags', 'timezone', 'locale', 'user_id', 'p256dh', 'extra'),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([d, field, value]) => JSON.stringify({ ...d, [field]: value }));
    const junk = junkText.filter((s) => {
      try {
        const v: unknown = JSON.parse(s);
        return v === null || typeof v !== 'object' || Array.isArray(v);
      } catch {
        return true;
      }
    });
    const line = fc.oneof(
      device.map((d): Line => ({ kind: 'valid', text: JSON.stringify(d) })),
      mutated.map((text): Line => ({ kind: 'mutated', text })),
      junk.map((text): Line => ({ kind: 'junk', text })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 25 }), async (lines) => {
        await checkImport(lines.map((l) => l.text).join('\n'), 'application/x-ndjson', lines, 1);
      }),
      { numRuns: RUNS },
    );
  });

  it('CSV: valid rows, rows with a cell replaced and junk lines', async () => {
    const cell = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const csvRow = (d: { platform: string; token: string; tags: string[] }) => `${d.platform},${d.token},${d.tags.join('|')}`;
    const mutated = fc
      .tuple(device, fc.integer({ min: 0, max: 2 }), junkText)
      .map(([d, at, text]) => [d.platform, d.token, d.tags.join('|')].map((c, i) => (i === at ? cell(text) : c)).join(','));
    // Junk: no platform in its first cell, so it can be no device.
    const junk = junkText.filter((s) => !/^\s*"?\s*(fcm|apns|webpush)/i.test(s));
    const line = fc.oneof(
      device.map((d): Line => ({ kind: 'valid', text: csvRow(d) })),
      mutated.map((text): Line => ({ kind: 'mutated', text })),
      junk.map((text): Line => ({ kind: 'junk', text })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 25 }), fc.boolean(), async (lines, crlf) => {
        const eol = crlf ? '\r\n' : '\n';
        await checkImport(['platform,token,tags', ...lines.map((l) => l.text)].join(eol) + eol, 'text/csv', lines, 2);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses an empty upload or a CSV header that is not one, writing nothing', async () => {
    const header = junkText.filter((s) => !/platform/i.test(s));
    await fc.assert(
      fc.asyncProperty(header, fc.array(junkText, { maxLength: 5 }), async (first, rest) => {
        const before = await devices();
        const { status, text } = await upload([first, ...rest].join('\n'), 'text/csv');
        expect([status, text.slice(0, 200)]).toEqual([400, expect.any(String)]);
        expect(await devices()).toBe(before);
      }),
      { numRuns: RUNS },
    );
    for (const type of ['text/csv', 'application/x-ndjson']) expect((await upload('', type)).status).toBe(400);
  });
});
