import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { streamRows } from './stream-rows';

describe('streamRows (PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 1 });
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  /** The pool's one client is back and usable: a query through it answers. */
  async function poolStillWorks(): Promise<void> {
    expect((await pool.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    expect(pool.totalCount).toBe(1);
    expect(pool.idleCount).toBe(1);
  }

  it('hands every row over as an array, in the order sent, and counts them', async () => {
    const rows: Array<[string, string]> = [];
    const count = await streamRows<[string, string]>(
      pool,
      { text: 'SELECT s.n::text AS id, md5(s.n::text) FROM generate_series($1::int, $2::int) AS s(n) ORDER BY s.n', values: [1, 2500] },
      (row) => rows.push(row),
    );
    expect(count).toBe(2500);
    expect(rows).toHaveLength(2500);
    expect(rows[0]).toEqual(['1', 'c4ca4238a0b923820dcc509a6f75849b']);
    expect(rows.at(-1)?.[0]).toBe('2500');
    await poolStillWorks();
  });

  it('keeps no row: pg collects none of them for its result', async () => {
    const collected = jest.spyOn(pg.Result.prototype as unknown as { addRow(row: unknown): void }, 'addRow');
    try {
      let rows = 0;
      await streamRows(pool, { text: 'SELECT n FROM generate_series(1, 1000) AS n', values: [] }, () => rows++);
      expect(rows).toBe(1000);
      expect(collected).not.toHaveBeenCalled();
    } finally {
      collected.mockRestore();
    }
  });

  it('rejects when the connection is terminated mid-query, and the pool replaces its client', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      let rows = 0;
      const streaming = streamRows(
        pool,
        { text: 'SELECT n, pg_sleep(CASE WHEN n = 50 THEN 30 ELSE 0 END) FROM generate_series(1, 100) AS n', values: [] },
        () => rows++,
      );
      // Terminate the backend streaming the rows, once it is in its sleep.
      for (let i = 0; i < 200; i++) {
        const { rows: found } = await admin.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(CASE%' AND pid <> pg_backend_pid() AND wait_event = 'PgSleep'",
        );
        if (found[0]) {
          await admin.query('SELECT pg_terminate_backend($1)', [found[0].pid]);
          break;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await expect(streaming).rejects.toThrow(/terminat/);
      expect(rows).toBeLessThan(100);
      await poolStillWorks();
    } finally {
      await admin.end();
    }
  });

  it('rejects with the database error and returns the client to the pool', async () => {
    await expect(streamRows(pool, { text: 'SELECT * FROM no_such_table', values: [] }, () => undefined)).rejects.toMatchObject({
      code: '42P01',
    });
    await poolStillWorks();
  });

  it("rejects when a row's handler throws, after the query ends, and leaves the connection usable", async () => {
    let seen = 0;
    await expect(
      streamRows(pool, { text: 'SELECT n FROM generate_series(1, 100) AS n', values: [] }, () => {
        if (++seen === 10) throw new Error('row 10 is not a device');
      }),
    ).rejects.toThrow('row 10 is not a device');
    expect(seen).toBe(10);
    await poolStillWorks();
  });

  it('passes no row for an empty result', async () => {
    const rows: unknown[] = [];
    expect(await streamRows(pool, { text: 'SELECT 1 WHERE false', values: [] }, (row) => rows.push(row))).toBe(0);
    expect(rows).toEqual([]);
    await poolStillWorks();
  });
});
