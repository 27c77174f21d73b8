import { Module } from '@nestjs/common';
import { CampaignDispatchService } from './campaign-dispatch.service';
import { CampaignOpensService } from './campaign-opens.service';
import { CampaignTuningController } from './campaign-tuning.controller';
import { DispatchSettingsController } from './dispatch-settings.controller';
import { DispatchSettingsService } from './dispatch-settings.service';

/**
 * Run-time tuning (api role only): the system dispatch settings and their change log, a campaign's rate and wave
 * size, and opens. Repositories come from the global DatabaseModule, the Redis client from the global RedisModule.
 * A campaign's live stats are served by the campaigns module (campaigns/stats).
 */
@Module({
  controllers: [DispatchSettingsController, CampaignTuningController],
  providers: [DispatchSettingsService, CampaignDispatchService, CampaignOpensService],
})
export class TuningModule {}
