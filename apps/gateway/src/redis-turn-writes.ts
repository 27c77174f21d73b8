/**
 * One socket write per event-loop turn for the gateway's Redis commands (issue #12).
 *
 * Each HTTP request reaches the gate in its own I/O callback and sends its one admission script from there. ioredis
 * writes every command to the socket at once (a `write` syscall each; on loopback that syscall also runs the TCP
 * receive path and wakes Redis), and its auto-pipelining flushes on `process.nextTick`, which runs after each I/O
 * callback: nothing is shared. Here the connection's socket is corked at the first command of a turn and uncorked by
 * `setImmediate`, i.e. after the poll phase has delivered every readable socket of the turn: the commands of all the
 * requests that arrived together go out in one `writev`, Redis reads them in one read and answers them in one write.
 *
 * Nothing else changes: each request still sends exactly one command through ioredis's `sendCommand` (its own
 * command, reply, timeout and error: a failed command fails only its request), in the order sent; EVALSHA's NOSCRIPT
 * fallback and the offline queue work as before. A command waits at most until the end of the current turn. On a
 * Cluster every node connection is batched on its own socket (a socket is one node; a room's keys share a hash tag,
 * so a room's scripts all go to the node that owns its slot).
 */
import type { Socket } from 'node:net';
import { Cluster, type Redis } from 'ioredis';

const INSTALLED = Symbol('tidegate.redisTurnWrites');

type Batched = Redis & { [INSTALLED]?: true; stream?: Socket };

/** Batches the writes of `client` (a Redis or every node of a Cluster, present and future) per event-loop turn. */
export function batchRedisWritesPerTurn(client: Redis | Cluster): void {
  if (client instanceof Cluster) {
    for (const node of client.nodes('all')) batchNode(node);
    client.on('+node', (node: Redis) => batchNode(node));
    return;
  }
  batchNode(client);
}

function batchNode(redis: Batched): void {
  if (redis[INSTALLED]) return;
  redis[INSTALLED] = true;
  // Looked up now (after any preloaded instrumentation wrapped the prototype), called for every command.
  const send = (Object.getPrototypeOf(redis) as { sendCommand: Redis['sendCommand'] }).sendCommand;
  let corked: Socket | null = null;
  const uncork = () => {
    const stream = corked;
    corked = null;
    stream?.uncork();
  };
  redis.sendCommand = function sendCommand(this: Batched, ...args: Parameters<Redis['sendCommand']>) {
    const stream = this.stream;
    // Only the connection's own socket, while writable (otherwise ioredis queues the command offline, as before).
    if (corked === null && stream && stream.writable && args[1] === undefined) {
      stream.cork();
      corked = stream;
      setImmediate(uncork);
    }
    return send.apply(this, args);
  };
}
