/**
 * The tests' strict fake of FCM (test/fakes/fake-fcm.ts: OAuth2 token endpoint over HTTP/1.1, messages:send over
 * cleartext HTTP/2, every request checked as FCM would) in a process of its own, for the dispatch benchmark's FCM
 * part: the clients under comparison run in the benchmark's process and share no event loop with it. Requests are
 * not recorded (`record: false`), only counted.
 *
 * Sends `{ type: 'listening', endpoint, serviceAccount }` once up. Asked `{ type: 'counts?' }`, answers
 * `{ type: 'counts', counts, connections, peakConcurrentRequests, tokenRequests }`. Exits when its IPC channel
 * closes (the benchmark ended or died) or on SIGTERM.
 */
import { FakeFcm } from '../../test/fakes/fake-fcm';

async function main(): Promise<void> {
  const fake = await FakeFcm.start({ record: false });
  process.on('message', (message: unknown) => {
    if ((message as { type?: unknown } | null)?.type !== 'counts?') return;
    process.send?.({
      type: 'counts',
      counts: { ...fake.counts },
      connections: fake.connections,
      peakConcurrentRequests: fake.peakConcurrentRequests,
      tokenRequests: fake.tokenRequests.length,
    });
  });
  const stop = () => {
    void fake.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  process.send?.({ type: 'listening', endpoint: fake.endpoint, serviceAccount: fake.serviceAccount });
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-fcm: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
