import { Module } from '@nestjs/common';
import { CampaignsController } from './campaigns.controller';
import { CampaignsService } from './campaigns.service';

/**
 * Campaigns' admin API (api role only). CampaignRepository, RoomRepository and DeviceRepository (the segment
 * estimate) come from the global DatabaseModule. CampaignsService is exported for the workers' module to reuse the
 * lifecycle (start, pause, resume are transitions plus queue work).
 */
@Module({
  controllers: [CampaignsController],
  providers: [CampaignsService],
  exports: [CampaignsService],
})
export class CampaignsModule {}
