import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * A request hook that runs before Nest's middleware (pino-http's request logger and its async context, @fastify/middie):
 * for a proxy in front of Nest (the gateway's gate), where a request it answers itself needs none of them.
 *
 * It returns `undefined` (synchronously: no promise on the way of other requests) to let the request go on to Nest,
 * or a promise: `true` once it has answered (or started to: a streamed proxy answer), and then nothing else runs
 * for that request (no middleware, no body parsing, no route); `false` to go on to Nest after all. (Not the reply:
 * a Fastify reply is a thenable, which a promise would wait on until the response has been sent.)
 */
export type EarlyRequestHook = (request: FastifyRequest, reply: FastifyReply) => Promise<boolean> | undefined;

const SLOT = Symbol('tidegate.earlyRequestHook');
type WithSlot = FastifyInstance & { [SLOT]?: { hook?: EarlyRequestHook } };

/**
 * Adds the hook's place to a Fastify instance. Must run before Nest registers middie (in `NestFactory.create`, before
 * any provider exists), which is why the place is made here and filled later by {@link setEarlyRequestHook}.
 */
export function addEarlyRequestSlot(fastify: FastifyInstance): void {
  const slot: { hook?: EarlyRequestHook } = {};
  (fastify as WithSlot)[SLOT] = slot;
  fastify.addHook('onRequest', (request, reply, done) => {
    const answered = slot.hook?.(request, reply);
    if (answered === undefined) {
      done();
      return;
    }
    answered.then(
      (answered) => {
        // Answered: the request ends here (Fastify's way for a hook that responds: `done` is never called).
        if (!answered) done();
      },
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

/** Fills the place {@link addEarlyRequestSlot} made (createHttpApp makes it); throws if there is none. */
export function setEarlyRequestHook(fastify: FastifyInstance, hook: EarlyRequestHook): void {
  const slot = (fastify as WithSlot)[SLOT];
  if (!slot) throw new Error('no early request hook slot on this Fastify instance (create the app with createHttpApp)');
  if (slot.hook) throw new Error('an early request hook is already set');
  slot.hook = hook;
}
