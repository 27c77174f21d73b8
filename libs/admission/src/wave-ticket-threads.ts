/**
 * Wave tickets signed a batch at a time on worker threads. A ticket's MAC is two SHA-256 blocks in JavaScript, about
 * 1 µs a device: for a batch of 500, half a millisecond of the scheduler worker's event loop per batch, which is what
 * holds its sending rate down once everything else is cheap (docs/benchmarks.md, dispatch). With threads, a batch's
 * ids go to a thread as one string and come back as one string of tickets; the event loop only joins and splits.
 *
 * - `threads` 0 signs on the calling thread (WaveTicketSigner.batch), the same tickets.
 * - Each request goes to the thread with the fewest in flight; threads start on first use and are referenced only
 *   while they have work (an idle pool never keeps the process alive).
 * - A thread that dies (an uncaught error, killed, out of memory) fails only the requests it held, with an Error;
 *   the next request starts a new one. So does a thread that leaves a request unanswered for `timeoutMs` (10 s by
 *   default: a batch takes about a millisecond), which is stopped: its batches' jobs fail and run again rather than
 *   hold their send slots while their locks are renewed. A field no ticket can carry fails its request with the
 *   signer's message.
 * - `close` stops the threads; what they still held fails.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { TICKET_LIST_SEPARATOR, type SignReply, type SignRequest } from './wave-ticket-messages';
import { WaveTicketSigner, type WaveTicketBatch } from './wave-tickets';

/** Most signing threads a pool may have (a 2-core machine is well served by 1). */
export const MAX_WAVE_TICKET_THREADS = 16;
/** How long a thread may leave a batch unanswered before it is stopped and its batches fail. */
export const WAVE_TICKET_SIGN_TIMEOUT_MS = 10_000;

export interface WaveTicketThreadsOptions {
  /** The thread's script (default: waveTicketThreadScript()). */
  script?: string;
  /** See WAVE_TICKET_SIGN_TIMEOUT_MS. */
  timeoutMs?: number;
}

interface Waiting {
  count: number;
  timer: NodeJS.Timeout;
  resolve: (tickets: string[]) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker | null;
  waiting: Map<number, Waiting>;
}

/**
 * The signing thread's script: built, it sits beside this file; run from the TypeScript sources (Jest), its compiled
 * copy under dist/ is used (`npm run build`; the integration and e2e tiers build before they run).
 */
export function waveTicketThreadScript(): string {
  const beside = path.join(__dirname, 'wave-ticket-thread.js');
  if (existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '../../../dist/libs/admission/src/wave-ticket-thread.js');
  if (existsSync(built)) return built;
  throw new Error(`the wave ticket thread's script is missing (${beside}): run npm run build`);
}

export class WaveTicketThreads {
  private readonly inline: WaveTicketSigner;
  private readonly slots: Slot[];
  private readonly script: string;
  private readonly timeoutMs: number;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly secret: string,
    threads: number,
    options: WaveTicketThreadsOptions = {},
  ) {
    if (!Number.isInteger(threads) || threads < 0 || threads > MAX_WAVE_TICKET_THREADS) {
      throw new RangeError(`wave ticket threads must be a whole number from 0 to ${MAX_WAVE_TICKET_THREADS}, got ${threads}`);
    }
    this.timeoutMs = options.timeoutMs ?? WAVE_TICKET_SIGN_TIMEOUT_MS;
    this.script = options.script ?? (threads > 0 ? waveTicketThreadScript() : '');
    // Checks the secret here, where a mistake is a configuration error, not in a thread.
    this.inline = new WaveTicketSigner(secret);
    this.slots = Array.from({ length: threads }, () => ({ worker: null, waiting: new Map<number, Waiting>() }));
  }

  /** How many threads sign (0: on the caller's thread). */
  get threads(): number {
    return this.slots.length;
  }

  /** The tickets of `deviceIds` (in their order) for one batch: exactly what WaveTicketSigner.batch(shared) signs. */
  sign(shared: WaveTicketBatch, deviceIds: readonly string[]): Promise<string[]> {
    if (this.closed) return Promise.reject(new Error('the wave ticket threads are closed'));
    if (deviceIds.length === 0) return Promise.resolve([]);
    if (this.slots.length === 0) {
      try {
        const sign = this.inline.batch(shared);
        return Promise.resolve(deviceIds.map((id) => sign(id)));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    const slot = this.leastBusy();
    const worker = slot.worker ?? this.start(slot);
    const seq = ++this.seq;
    const request: SignRequest = { seq, shared, ids: deviceIds.join(TICKET_LIST_SEPARATOR) };
    return new Promise<string[]>((resolve, reject) => {
      if (slot.waiting.size === 0) worker.ref();
      const timer = setTimeout(
        () => this.fail(slot, worker, new Error(`the wave ticket thread did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      timer.unref();
      slot.waiting.set(seq, { count: deviceIds.length, timer, resolve, reject });
      worker.postMessage(request);
    });
  }

  /** Stops every thread; requests still in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const worker = slot.worker;
        if (!worker) return;
        this.fail(slot, worker, new Error('the wave ticket threads were closed'));
        await worker.terminate();
      }),
    );
  }

  private leastBusy(): Slot {
    let best = this.slots[0] as Slot;
    for (const slot of this.slots) if (slot.waiting.size < best.waiting.size) best = slot;
    return best;
  }

  private start(slot: Slot): Worker {
    const worker = new Worker(this.script, { workerData: { secret: this.secret } });
    worker.unref();
    slot.worker = worker;
    worker.on('message', (reply: SignReply) => this.answer(slot, worker, reply));
    worker.on('error', (err) => this.fail(slot, worker, new Error(`the wave ticket thread failed: ${err.message}`)));
    worker.on('messageerror', (err) => this.fail(slot, worker, new Error(`the wave ticket thread's reply was unreadable: ${err.message}`)));
    worker.on('exit', (code) => this.fail(slot, worker, new Error(`the wave ticket thread stopped (exit code ${code})`)));
    return worker;
  }

  private answer(slot: Slot, worker: Worker, reply: SignReply): void {
    const waiting = slot.waiting.get(reply.seq);
    if (!waiting) return;
    slot.waiting.delete(reply.seq);
    clearTimeout(waiting.timer);
    if (slot.waiting.size === 0) worker.unref();
    if ('error' in reply) {
      waiting.reject(new Error(reply.error));
      return;
    }
    const tickets = reply.tickets.split(TICKET_LIST_SEPARATOR);
    if (tickets.length !== waiting.count) {
      // Only an id holding the separator does this (no valid id does): refused as the signer refuses such an id.
      waiting.reject(new Error(`wave ticket: ${waiting.count} device ids made ${tickets.length} tickets: an id is not a positive integer`));
      return;
    }
    waiting.resolve(tickets);
  }

  /** A thread is gone (or going): its requests fail, and the next request starts a new one. */
  private fail(slot: Slot, worker: Worker, error: Error): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    const waiting = [...slot.waiting.values()];
    slot.waiting.clear();
    for (const w of waiting) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    // An error event is followed by exit; a thread that errs but lingers is not reused.
    void worker.terminate().catch(() => undefined);
  }
}
