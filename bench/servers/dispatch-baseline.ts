/**
 * The dispatch benchmark's baseline (bench/dispatch.ts): the minimal pipeline that moves the same recipients the
 * same way, in one process as Tidegate's worker does. A producer reads the device rows from PostgreSQL by keyset
 * pagination (`SELECT id, platform, token … WHERE id > $1 ORDER BY id LIMIT <batch>`) and adds each page as one raw
 * BullMQ job of its ids; a BullMQ Worker on the same queue, with the same concurrency as Tidegate's send workers,
 * runs an empty processor. Done when every job has completed.
 *
 * Sends `{ type: 'ready' }` once started. Messages: `{ type: 'run', databaseUrl, redisUrl, bullPrefix, batchSize,
 * concurrency, recipients }`, answered `{ type: 'result', ok: true, seconds, producedSeconds, jobs, rows, … }` (or
 * `{ type: 'result', ok: false, error }`). The process exits when its IPC channel closes (the benchmark ended or
 * died) or on SIGTERM.
 */
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { closeRedisClient, createRedisClient } from '@tidegate/redis';

interface RunMessage {
  type: 'run';
  databaseUrl: string;
  redisUrl: string;
  bullPrefix: string;
  batchSize: number;
  concurrency: number;
  recipients: number;
}

const QUEUE = 'baseline-send';

async function run(m: RunMessage): Promise<Record<string, unknown>> {
  const expectedJobs = Math.ceil(m.recipients / m.batchSize);
  const pool = new pg.Pool({ connectionString: m.databaseUrl, max: 2 });
  const queueConnection = createRedisClient({ url: m.redisUrl }, { name: 'baseline-queue', forBullmq: true });
  const workerConnection = createRedisClient({ url: m.redisUrl }, { name: 'baseline-worker', forBullmq: true });
  const queue = new Queue(QUEUE, { connection: queueConnection, prefix: m.bullPrefix });
  let completed = 0;
  let failed = 0;
  let idsSeen = 0;
  let onDone: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (onDone = resolve));
  const worker = new Worker(
    QUEUE,
    // The empty processor: what a send job costs when sending costs nothing.
    (job) => {
      idsSeen += (job.data as { ids: string[] }).ids.length;
      return Promise.resolve();
    },
    { connection: workerConnection, prefix: m.bullPrefix, concurrency: m.concurrency, autorun: false },
  );
  worker.on('completed', () => {
    if (++completed >= expectedJobs) onDone?.();
  });
  worker.on('failed', () => failed++);
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const started = performance.now();
    void worker.run();
    let afterId = '0';
    let rows = 0;
    let jobs = 0;
    // Bounded: at most one page per expected job, plus one to see the end.
    for (let page = 0; page <= expectedJobs; page++) {
      const result = await pool.query<{ id: string; platform: string; token: string }>(
        'SELECT id, platform, token FROM devices WHERE id > $1 ORDER BY id LIMIT $2',
        [afterId, m.batchSize],
      );
      if (result.rows.length === 0) break;
      rows += result.rows.length;
      afterId = (result.rows[result.rows.length - 1] as { id: string }).id;
      await queue.add('send-batch', { ids: result.rows.map((r) => r.id) }, { removeOnComplete: true, removeOnFail: true });
      jobs++;
      if (result.rows.length < m.batchSize) break;
    }
    const producedSeconds = (performance.now() - started) / 1000;
    if (jobs !== expectedJobs) throw new Error(`read ${rows} rows in ${jobs} jobs, expected ${m.recipients} in ${expectedJobs}`);
    await done;
    const seconds = (performance.now() - started) / 1000;
    if (idsSeen !== m.recipients) throw new Error(`the processor saw ${idsSeen} ids, expected ${m.recipients}`);
    return { type: 'result', ok: true, seconds, producedSeconds, jobs, rows, completed, failed, idsSeen };
  } finally {
    await worker.close(true).catch(() => undefined);
    await queue.close().catch(() => undefined);
    await Promise.all([closeRedisClient(queueConnection), closeRedisClient(workerConnection), pool.end()]);
  }
}

process.on('message', (message: unknown) => {
  const m = message as RunMessage;
  if (m?.type !== 'run') return;
  run(m).then(
    (reply) => process.send?.(reply),
    (err: unknown) => process.send?.({ type: 'result', ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
process.send?.({ type: 'ready' });

const stop = () => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
