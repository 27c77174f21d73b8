import { Module } from '@nestjs/common';
import { CampaignsController } from './campaigns.controller';
import { CampaignsService } from './campaigns.service';
import { CampaignStatsService } from '../tuning/campaign-stats.service';

/**
 * Campaigns' admin API (api role only). CampaignRepository, RoomRepository, DeviceRepository (the segment estimate)
 * and DispatchSettingsRepository (wave-plan defaults) come from the global DatabaseModule, the Redis client (live
 * stats) from the global RedisModule. CampaignsService is exported for the workers' module to reuse the lifecycle
 * (start, pause, resume are transitions plus queue work).
 */
@Module({
  controllers: [CampaignsController],
  providers: [CampaignsService, CampaignStatsService],
  exports: [CampaignsService, CampaignStatsService],
})
export class CampaignsModule {}
