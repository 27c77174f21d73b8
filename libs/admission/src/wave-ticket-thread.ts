/**
 * The signing thread of WaveTicketThreads (wave-ticket-threads.ts): a worker thread that signs whole batches of wave
 * tickets, so the MACs (two SHA-256 blocks a device) run beside the scheduler's event loop, not on it.
 *
 * Contract (messages, structured-cloned):
 * - workerData: `{ secret }`, the WAVE_TICKET_SECRET;
 * - in: `SignRequest` `{ seq, shared, ids }`: the batch's shared fields and its device ids joined by commas;
 * - out: `SignReply` `{ seq, tickets }`, the tickets in the ids' order joined by commas (a ticket never holds one),
 *   or `{ seq, error }` with the message `WaveTicketSigner.batch` threw (a field no ticket can carry).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TICKET_LIST_SEPARATOR, type SignReply, type SignRequest } from './wave-ticket-messages';
import { WaveTicketSigner } from './wave-tickets';

const port = parentPort;
if (!port) throw new Error('wave-ticket-thread runs as a worker thread (WaveTicketThreads starts it)');
const signer = new WaveTicketSigner((workerData as { secret: string }).secret);

port.on('message', (request: SignRequest) => {
  let reply: SignReply;
  try {
    const sign = signer.batch(request.shared);
    const ids = request.ids.split(TICKET_LIST_SEPARATOR);
    let tickets = sign(ids[0] as string);
    for (let i = 1; i < ids.length; i++) tickets += TICKET_LIST_SEPARATOR + sign(ids[i] as string);
    reply = { seq: request.seq, tickets };
  } catch (err) {
    reply = { seq: request.seq, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
