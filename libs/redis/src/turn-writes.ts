/**
 * One socket write per event-loop turn for an app's Redis commands (issue #12): the gateway's connection, and the
 * scheduler's (its own and BullMQ's), whose send batches each make a handful of commands from several callbacks.
 *
 * Each HTTP request reaches the gate in its own I/O callback and sends its one admission script from there. ioredis
 * writes every command to the socket at once (a `write` syscall each; on loopback that syscall also runs the TCP
 * receive path and wakes Redis), and its auto-pipelining flushes on `process.nextTick`, which runs after each I/O
 * callback: nothing is shared. Here the connection's socket is corked at the first command of a turn and uncorked at
 * the end of the turn (`atEndOfTurn`: one `setImmediate`), i.e. after the poll phase has delivered every readable
 * socket of the turn: the commands of all the
 * requests that arrived together go out in one `writev`, Redis reads them in one read and answers them in one write.
 *
 * Nothing else changes: each command still goes through ioredis's `sendCommand` (its own reply, timeout and error: a
 * failed command fails only the requests waiting for it), in the order sent; EVALSHA's NOSCRIPT fallback and the
 * offline queue work as before. A command waits at most until the end of the current turn. Arrivals share a command:
 * the admission store sends a turn's arrivals at a room as one script call (libs/admission arrival-batches.ts) from
 * `atEndOfTurn`, so a failed call fails that batch's arrivals (each answers 503). On a Cluster every node connection is
 * batched on its own socket (a socket is one node; a room's keys share a hash tag, so a room's scripts all go to the
 * node that owns its slot).
 */
import type { Socket } from 'node:net';
import { Cluster, type Redis } from 'ioredis';

/** What runs at the end of this turn, in order; then the uncorks (one setImmediate per turn runs both). */
const atTurnEnd: Array<() => void> = [];
const uncorks: Array<() => void> = [];

let running = false;

function runTurnEnd(): void {
  // Each runs whatever another throws (an uncork skipped would leave its socket corked for good); the first error
  // is thrown afterwards. Drained until both are empty, callbacks before uncorks: a command a callback sends corks its
  // socket and adds its uncork, which runs in this turn after every callback; something queued by an uncork runs too.
  const failures: unknown[] = [];
  running = true;
  try {
    while (atTurnEnd.length > 0 || uncorks.length > 0) {
      const queue = atTurnEnd.length > 0 ? atTurnEnd : uncorks;
      for (const fn of queue.splice(0, queue.length)) {
        try {
          fn();
        } catch (err) {
          failures.push(err);
        }
      }
    }
  } finally {
    running = false;
  }
  if (failures.length > 0) throw failures[0];
}

const scheduleTurnEnd = () => {
  if (!running && atTurnEnd.length + uncorks.length === 1) setImmediate(runTurnEnd);
};

/**
 * Runs `fn` once the poll phase has delivered every readable socket of this turn, before the sockets corked this turn
 * are uncorked: the admission store's arrival batches (libs/admission arrival-batches.ts) are sent from here, so a
 * batch joins the turn's one write instead of waiting for the next turn.
 */
export function atEndOfTurn(fn: () => void): void {
  atTurnEnd.push(fn);
  scheduleTurnEnd();
}

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
      uncorks.push(uncork);
      scheduleTurnEnd();
    }
    return send.apply(this, args);
  };
}
