import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '@tidegate/auth';
import { CampaignIdPipe, ID_PARAM } from '../campaigns.controller';
import { CampaignForecastView, ForecastQuery } from './forecast.dto';
import { ForecastService } from './forecast.service';

@ApiTags('campaigns')
@Controller('admin/campaigns')
export class ForecastController {
  constructor(private readonly forecasts: ForecastService) {}

  @Get(':id/forecast')
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'The surge the campaign will cause, before it is sent, and the wave plan that keeps it within its wait budget',
    description:
      "Arrivals per minute, queue, active users and waits (p50/p95/max) as curves, from the audience, the open model (the query's, else this campaign's measured opens, else the SREs' defaults) and the room's capacity; with the plan that finishes earliest within the budget, or why none can. See docs/surge.md.",
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignForecastView })
  @ApiNotFoundResponse({ description: 'No campaign with this id' })
  @ApiConflictResponse({ description: 'The campaign has no room (nothing to forecast against)' })
  forecast(@Param('id', CampaignIdPipe) id: string, @Query() query: ForecastQuery): Promise<CampaignForecastView> {
    return this.forecasts.forecast(id, query);
  }
}
