import { Body, Controller, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RequireRole, type Caller } from '@tidegate/auth';
import { CampaignIdPipe } from '../campaigns/campaigns.controller';
import { CampaignView } from '../campaigns/campaigns.dto';
import { CampaignDispatchService } from './campaign-dispatch.service';
import { CampaignOpensService } from './campaign-opens.service';
import { CampaignDispatchDto, CampaignOpenDto, CampaignOpenView } from './tuning.dto';

const ID_PARAM = { name: 'id', format: 'uuid', description: 'The campaign id' };

/** Run-time changes of one campaign: an SRE's rate and wave size, and the opens the app reports. */
@ApiTags('tuning')
@Controller('admin/campaigns')
export class CampaignTuningController {
  constructor(
    private readonly dispatch: CampaignDispatchService,
    private readonly opens: CampaignOpensService,
  ) {}

  @Patch(':id/dispatch')
  @RequireRole('sre')
  @ApiOperation({
    summary: "Change a scheduled, running or paused campaign's rate (rate_per_minute) or wave size",
    description:
      'Applies without a restart: the sending workers re-read the rate about once a second and the wave size before ' +
      'each wave. Recorded in the change log (scope `campaign:<id>`, old and new `{ wave_size, rate_per_minute }`). ' +
      'The same values again: answered, not recorded.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiBadRequestResponse({ description: 'A field is invalid (one `field: reason` per problem), unknown, or the body sets none' })
  @ApiNotFoundResponse({ description: 'No campaign with this id' })
  @ApiConflictResponse({ description: 'The campaign is a draft or has finished (or changed meanwhile: try again)' })
  dispatchSettings(
    @Param('id', CampaignIdPipe) id: string,
    @Body() body: CampaignDispatchDto,
    @Req() req: { caller: Caller },
  ): Promise<CampaignView> {
    return this.dispatch.update(id, body, req.caller);
  }

  @Post(':id/opens')
  @HttpCode(202)
  @RequireRole('marketer')
  @ApiOperation({
    summary: "Report that a user opened the campaign's message: each user (or device without a user) counts once",
    description:
      "For the app's backend. The opener is user_id, or the device's user, or else the device. With both, the device " +
      'must belong to that user. `counted: false`: this opener was counted already.',
  })
  @ApiParam(ID_PARAM)
  @ApiAcceptedResponse({ type: CampaignOpenView })
  @ApiBadRequestResponse({ description: 'Neither user_id nor device_id, an unknown device, or a device of another user' })
  @ApiNotFoundResponse({ description: 'No campaign with this id' })
  @ApiConflictResponse({ description: 'The campaign is a draft or scheduled: nothing was sent' })
  open(@Param('id', CampaignIdPipe) id: string, @Body() body: CampaignOpenDto): Promise<CampaignOpenView> {
    return this.opens.record(id, body);
  }
}
