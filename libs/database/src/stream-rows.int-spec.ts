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
