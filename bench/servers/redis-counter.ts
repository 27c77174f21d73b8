/**
 * Preloaded into an app under benchmark (`node --require dist/bench/servers/redis-counter.js <app>`): counts every
 * command the process's ioredis clients send, per command (scripts per SHA1 of their source), without changing
 * what is sent. One command is one round trip here (the apps use no pipelines on their hot paths).
 *
 * Asked with the IPC message `{ type: 'redis-counts?' }`, it answers `{ type: 'redis-counts', counts }`. When the
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

const prototype = Redis.prototype as unknown as { sendCommand: (command: SentCommand, stream?: unknown) => unknown };
const send = prototype.sendCommand;
prototype.sendCommand = function sendCommand(this: unknown, command: SentCommand, stream?: unknown) {
  const key = label(command);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return send.call(this, command, stream);
};

process.on('message', (message: unknown) => {
  if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'redis-counts?') {
    process.send?.({ type: 'redis-counts', counts: Object.fromEntries(counts) });
  }
});
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
// The channel must not keep the app alive on its own.
process.channel?.unref();
