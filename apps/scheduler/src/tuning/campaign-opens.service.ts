import { BadRequestException, ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { CampaignRepository, DeviceRepository, MAX_DEVICE_ID, type CampaignStatus } from '@tidegate/database';
import { REDIS, RedisKeys, countCampaignOpen, type RedisClient } from '@tidegate/redis';
import type { CampaignOpenDto, CampaignOpenView } from './tuning.dto';

/** Nothing was sent yet in these statuses, so nothing can have been opened. */
const NOT_SENT: readonly CampaignStatus[] = ['draft', 'scheduled'];

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Opens reported by the app's backend: each opener counts once per campaign. The opener is the user (`user:<id>`):
 * the one given, or the device's own user; a device without a user counts as itself (`device:<id>`). PostgreSQL's
 * primary key (campaign, opener) is the deduplication; only a row actually inserted adds one to the live `opened`
 * counter in Redis.
 */
@Injectable()
export class CampaignOpensService {
  private readonly logger = new Logger('CampaignOpens');

  constructor(
    private readonly campaigns: CampaignRepository,
    private readonly devices: DeviceRepository,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async record(campaignId: string, dto: CampaignOpenDto): Promise<CampaignOpenView> {
    if (dto.user_id === undefined && dto.device_id === undefined) {
      throw new BadRequestException(['the body must set user_id, device_id, or both']);
    }
    const campaign = await this.campaigns.findById(campaignId);
    if (!campaign) throw new NotFoundException(`no campaign with id ${campaignId}`);
    if (NOT_SENT.includes(campaign.status)) {
      throw new ConflictException(`campaign ${campaignId} is ${campaign.status}: nothing was sent, so nothing can be opened`);
    }

    let deviceId: bigint | null = null;
    let userId = dto.user_id ?? null;
    if (dto.device_id !== undefined) {
      deviceId = BigInt(dto.device_id);
      if (deviceId > MAX_DEVICE_ID) throw new BadRequestException([`device_id: no device with id ${JSON.stringify(dto.device_id)}`]);
      const device = await this.devices.findById(deviceId);
      if (!device) throw new BadRequestException([`device_id: no device with id ${JSON.stringify(dto.device_id)}`]);
      if (userId !== null && device.userId !== userId) {
        throw new BadRequestException([`device_id: device ${dto.device_id} does not belong to user ${JSON.stringify(userId)}`]);
      }
      userId ??= device.userId;
    }
    const opener = userId !== null ? `user:${userId}` : `device:${String(deviceId)}`;

    const counted = await this.campaigns.recordOpen(campaignId, opener, deviceId);
    if (counted) await this.countLive(campaignId);
    return { counted };
  }

  /** One more in the live counter. The open is recorded in PostgreSQL already, so a Redis failure only logs. */
  private async countLive(campaignId: string): Promise<void> {
    try {
      await countCampaignOpen(this.redis, this.keys, campaignId);
    } catch (err) {
      this.logger.warn({ msg: `campaign ${campaignId}: open recorded, live counter not updated: ${errorMessage(err)}`, campaignId });
    }
  }
}
