import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { WAVE_TICKET_TTL_SECONDS, WaveTicketThreads } from '@tidegate/admission';
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
 * gateway checks a ticket against). Each push carries its device's ticket beside the campaign's payload (libs/push
 * PushMessage `ticket`): the provider puts it in the payload as it writes the message. The batch's tickets are signed on the
 * WAVE_TICKET_THREADS signing threads (libs/admission WaveTicketThreads), while the room binding goes to Redis.
 */
@Injectable()
export class WaveTickets implements OnModuleDestroy {
  constructor(
    private readonly signer: WaveTicketThreads,
    private readonly funnel: FunnelStore,
    @Inject(DISPATCH_NOW) private readonly now: Now,
  ) {}

  /** The ticket of each of `deviceIds`, in their order. */
  async sign(batch: TicketedBatch, deviceIds: readonly string[]): Promise<readonly string[]> {
    const sentAt = Math.floor(this.now() / 1000);
    // A week: a notification left in the tray is still tapped days later, and a ticket only ever counts once.
    const expiresAt = sentAt + WAVE_TICKET_TTL_SECONDS;
    const shared = { campaignId: batch.campaignId, wave: batch.wave, sentAt, expiresAt };
    const [, tickets] = await Promise.all([this.funnel.bindRoom(batch.campaignId, batch.roomId), this.signer.sign(shared, deviceIds)]);
    return tickets;
  }

  onModuleDestroy(): Promise<void> {
    return this.signer.close();
  }
}
