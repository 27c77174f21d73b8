/** What WaveTicketThreads and its signing thread say to each other (wave-ticket-thread.ts has the contract). */
import type { WaveTicketBatch } from './wave-tickets';

/** Joins device ids and tickets in one string each way: ids are decimals and tickets URL-safe, neither holds one. */
export const TICKET_LIST_SEPARATOR = ',';

export interface SignRequest {
  seq: number;
  shared: WaveTicketBatch;
  /** The device ids, joined by TICKET_LIST_SEPARATOR (one string clones far cheaper than 500). */
  ids: string;
}

export type SignReply = { seq: number; tickets: string } | { seq: number; error: string };
