import { Inject, Injectable } from '@nestjs/common';
import { WAVE_TICKET_TTL_SECONDS, WaveTicketSigner } from '@tidegate/admission';
import { waveTicketStamper, type NotificationPayload } from '@tidegate/push';
import { FunnelStore } from '@tidegate/redis';
import { DISPATCH_NOW, type Now } from './dispatch-options';

/** The batch a set of tickets is for. */
export interface TicketedBatch {
  campaignId: string;
  wave: number;
  /** The room the campaign's visitors enter; null: none (its tickets then count nowhere). */
  roomId: string | null;
}

/**
 * Signs each recipient's wave ticket when a batch is sent, and binds the campaign to its room in Redis (what the
 * gateway checks a ticket against). `stamp` returns, per device id, the payload that carries that device's ticket
 * (libs/push waveTicketStamper); the campaign's payload is never changed.
 */
@Injectable()
export class WaveTickets {
  constructor(
    private readonly signer: WaveTicketSigner,
    private readonly funnel: FunnelStore,
    @Inject(DISPATCH_NOW) private readonly now: Now,
  ) {}

  async stamp(batch: TicketedBatch, payload: NotificationPayload): Promise<(deviceId: string) => NotificationPayload> {
    await this.funnel.bindRoom(batch.campaignId, batch.roomId);
    const sentAt = Math.floor(this.now() / 1000);
    // A week: a notification left in the tray is still tapped days later, and a ticket only ever counts once.
    const expiresAt = sentAt + WAVE_TICKET_TTL_SECONDS;
    // The batch's shared fields are checked and encoded once; each device then costs its MAC.
    const sign = this.signer.batch({ campaignId: batch.campaignId, wave: batch.wave, sentAt, expiresAt });
    const stamp = waveTicketStamper(payload);
    return (deviceId) => stamp(sign(deviceId));
  }
}
