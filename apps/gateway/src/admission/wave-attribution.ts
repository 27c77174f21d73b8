import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { TicketSigner, WaveTicketSigner } from '@tidegate/admission';
import { WAVE_TICKET_COOKIE, WAVE_TICKET_HEADER, WAVE_TICKET_PARAM } from '@tidegate/contracts';
import { FunnelStore, type FunnelArrival } from '@tidegate/redis';
import { deviceIdOf } from '../throttle/device-id';
import { readCookie } from './cookies';
import type { GateDecision } from './gate.service';
import type { GatewayRoom } from './room-registry';

/** What a request presents for attribution: its wave ticket, and the app's own device id (X-Device-Id). */
export interface WavePresentation {
  waveTicket?: string;
  deviceId?: string;
}

/** How the gate reached its decision: a live token, a waiting ticket's check-in, or a new arrival. */
export type DecidedVia = 'token' | 'ticket' | 'arrive';

/** The wave ticket a request presents: header `X-Wave-Ticket`, else cookie `tg_wave`, else query `tg_wave`. */
export function presentationOf(request: FastifyRequest): WavePresentation {
  const header = request.headers[WAVE_TICKET_HEADER];
  const query = (request.query as Record<string, unknown> | undefined)?.[WAVE_TICKET_PARAM];
  const waveTicket =
    (typeof header === 'string' && header !== '' ? header : undefined) ??
    readCookie(request.headers.cookie, WAVE_TICKET_COOKIE) ??
    (typeof query === 'string' && query !== '' ? query : undefined);
  const device = deviceIdOf(request.headers);
  return { waveTicket, deviceId: device.kind === 'valid' ? device.id : undefined };
}

/** The presenter's digest stored with an attribution: the first 16 hex digits of SHA-256 of X-Device-Id. */
export const presenterOf = (deviceId: string | undefined) =>
  deviceId ? createHash('sha256').update(deviceId).digest('hex').slice(0, 16) : '';

/**
 * Wave-ticket attribution (docs/admission.md, "Wave tickets"): a genuine, unexpired ticket presented at the
 * campaign's own room counts the campaign's funnel once per device: opened, and queued or admitted as the gate
 * decided. It never changes the decision: a forged, expired, other-campaign or replayed ticket, or none, is an
 * ordinary visitor, and so is a valid one. Everything here runs after the decision, off the response path (the
 * request never waits for it); a failure is logged and counts nothing.
 */
@Injectable()
export class WaveAttribution {
  private readonly logger = new Logger('WaveAttribution');

  constructor(
    private readonly signer: WaveTicketSigner,
    private readonly tickets: TicketSigner,
    private readonly funnel: FunnelStore,
  ) {}

  /** After a decision: counts the visit if `presented` holds a valid wave ticket (returns the work, for tests). */
  observe(room: GatewayRoom, presented: WavePresentation, decision: GateDecision, via: DecidedVia): Promise<void> | null {
    if (!presented.waveTicket) return null;
    const ticket = this.signer.verify(presented.waveTicket);
    if (!ticket) return null;
    const { arrival, waiting } = this.arrivalOf(room, decision, via);
    const nowMs = Date.now();
    return this.funnel
      .open({
        campaignId: ticket.campaignId,
        wave: ticket.wave,
        deviceId: ticket.deviceId,
        roomId: room.id,
        presenter: presenterOf(presented.deviceId),
        openDelayMs: nowMs - ticket.sentAt * 1000,
        arrival,
      })
      .then(async (result) => {
        if (result === 'counted' && waiting !== null) {
          await this.funnel.rememberQueued(room.id, waiting, ticket.campaignId, ticket.wave, nowMs);
        }
      })
      .catch((err: unknown) => this.failed(ticket.campaignId, err));
  }

  /** A waiting ticket of `room` was admitted: counts it for the campaign that a wave ticket attributed it to, if any. */
  admitted(room: GatewayRoom, ticketNumber: number): Promise<void> {
    return this.funnel
      .admitted(room.id, ticketNumber, Date.now())
      .then(() => undefined)
      .catch((err: unknown) => this.failed(`room ${room.id}`, err));
  }

  private arrivalOf(room: GatewayRoom, decision: GateDecision, via: DecidedVia): { arrival: FunnelArrival; waiting: number | null } {
    if (via === 'token') return { arrival: 'none', waiting: null };
    if (decision.kind === 'pass') return via === 'arrive' ? { arrival: 'admitted', waiting: null } : { arrival: 'queued', waiting: null };
    if (decision.kind !== 'wait') return { arrival: 'none', waiting: null };
    try {
      return { arrival: 'queued', waiting: this.tickets.verify(decision.ticket, room.id).number };
    } catch {
      return { arrival: 'none', waiting: null };
    }
  }

  private failed(what: string, err: unknown): void {
    this.logger.warn(`wave ticket attribution (${what}) not counted: ${err instanceof Error ? err.message : String(err)}`);
  }
}
