import pg from 'pg';

/**
 * Runs `query` on a client of `pool` and hands each row (as an array, in the order PostgreSQL sends them) to `onRow`
 * as it arrives, keeping none: the caller keeps what it needs of each row. `pool.query` would collect every row first
 * (pg's result holds them all until the last arrives); a wave's page is 100,000 rows. Resolves with the row count
 * when the query is done; rejects with its error. Should `onRow` throw, the rows still to come are received and
 * dropped, and the query then rejects with that error. The client goes back to the pool unless the query failed for
 * another reason than an ordinary SQL error (a lost or terminated connection): then it is destroyed.
 *
 * pg collects the rows of a query that has a callback: a pool whose clients have `query_timeout` set (it can come from
 * the connection string) gives every query one, and the rows would be collected again (stream-rows.int-spec.ts
 * checks that none are on this pool's settings).
 */
export async function streamRows<Row extends unknown[]>(
  pool: pg.Pool,
  query: { text: string; values: unknown[] },
  onRow: (row: Row) => void,
): Promise<number> {
  const client = await pool.connect();
  let count = 0;
  let failed: Error | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const config: pg.QueryArrayConfig = { text: query.text, values: query.values, rowMode: 'array' };
      // pg's types leave rowMode out of Query's own config, which takes it like pool.query's.
      const submitted = new pg.Query(config as pg.QueryConfig);
      // A checked-out client has no error listener of the pool's: a lost connection is this query's failure.
      const lost = (err: Error) => reject(err);
      client.once('error', lost);
      submitted.on('row', (row: Row) => {
        if (failed) return;
        try {
          onRow(row);
          count++;
        } catch (err) {
          failed = err instanceof Error ? err : new Error(String(err));
        }
      });
      submitted.once('error', (err: Error) => {
        client.removeListener('error', lost);
        reject(err);
      });
      submitted.once('end', () => {
        client.removeListener('error', lost);
        if (failed) reject(failed);
        else resolve();
      });
      client.query(submitted);
    });
  } catch (err) {
    // An ordinary SQL error (severity ERROR) leaves the connection usable; a FATAL one, a socket error or a timeout may not.
    const usable = err === failed || (err instanceof pg.DatabaseError && err.severity === 'ERROR');
    client.release(usable ? undefined : (err as Error));
    throw err;
  }
  client.release();
  return count;
}
