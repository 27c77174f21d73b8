/**
 * Preloaded into an app under benchmark (`node --require dist/bench/servers/redis-counter.js <app>`): counts every
 * command the process's ioredis clients send, per command (scripts per SHA1 of their source), without changing
 * what is sent. One command is one round trip of its own here (its own request and reply; the apps use no pipelines
 * on their hot paths). The gateway writes the commands of one event-loop turn to a socket together (one write
 * carries several requests' commands, each still one command with one reply): `socketWrites` counts those writes
 * (socket `_write`/`_writev` calls of the connections commands were sent on), answered beside the counts.
 *
 * Asked with the IPC message `{ type: 'redis-counts?' }`, it answers `{ type: 'redis-counts', counts, socketWrites }`. When the
 * benchmark's IPC channel closes (the benchmark died), it stops the app with SIGTERM.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

interface SentCommand {
  name: string;
  args: unknown[];
}

const counts = new Map<string, number>();

function label(command: SentCommand): string {
  const first = command.args[0];
  if (command.name === 'evalsha') return `evalsha:${String(first)}`;
  if (command.name === 'eval') {
    const source = Buffer.isBuffer(first) ? first : String(first);
    return `evalsha:${createHash('sha1').update(source).digest('hex')}`;
  }
  return command.name;
}

let socketWrites = 0;
type CountedSocket = { _write?: (...a: unknown[]) => unknown; _writev?: (...a: unknown[]) => unknown };
const watched = new WeakSet<object>();

/** Counts the writes of a connection's socket from now on (once per socket). */
function watch(socket: CountedSocket | undefined): void {
  if (!socket || watched.has(socket)) return;
  watched.add(socket);
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method];
    if (typeof original !== 'function') continue;
    socket[method] = function (this: unknown, ...a: unknown[]) {
      socketWrites++;
      return original.apply(this, a);
    };
  }
}

const prototype = Redis.prototype as unknown as { sendCommand: (command: SentCommand, stream?: unknown) => unknown };
const send = prototype.sendCommand;
prototype.sendCommand = function sendCommand(this: { stream?: CountedSocket }, command: SentCommand, stream?: unknown) {
  const key = label(command);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  watch(this.stream);
  return send.call(this, command, stream);
};

process.on('message', (message: unknown) => {
  if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'redis-counts?') {
    process.send?.({ type: 'redis-counts', counts: Object.fromEntries(counts), socketWrites });
  }
});
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
// The channel must not keep the app alive on its own.
process.channel?.unref();
