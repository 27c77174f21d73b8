import { Body, ConflictException, Controller, HttpCode, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireRole, type Caller } from '@tidegate/auth';
import { CampaignRepository, type Campaign } from '@tidegate/database';
import { CampaignIdPipe } from '../campaigns/campaigns.controller';
import { CampaignView, TransitionDto } from '../campaigns/campaigns.dto';
import { CampaignsService } from '../campaigns/campaigns.service';
import { CampaignLifecycle } from './campaign-lifecycle';

const ID_PARAM = { name: 'id', format: 'uuid', description: 'The campaign id' };
type Req = { caller: Caller };

/** Start now, pause and resume: lifecycle transitions (CampaignsService) plus the queue work (CampaignLifecycle). */
@ApiTags('campaigns')
@Controller('admin/campaigns')
export class DispatchController {
  constructor(
    private readonly campaigns: CampaignsService,
    private readonly repo: CampaignRepository,
    private readonly lifecycle: CampaignLifecycle,
  ) {
    campaigns.onCancelled((id) => lifecycle.stopped(id));
  }

  @Post(':id/start')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({ summary: 'Start sending now (a draft or a scheduled campaign): wave 1 is planned at once, inside the send window' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiNotFoundResponse({ description: 'No such campaign' })
  @ApiConflictResponse({ description: 'The campaign is not draft or scheduled' })
  async start(@Param('id', CampaignIdPipe) id: string, @Body() body: TransitionDto, @Req() req: Req): Promise<CampaignView> {
    const current = await this.find(id);
    if (current.status !== 'draft' && current.status !== 'scheduled') {
      throw new ConflictException(
        `campaign ${id} is ${current.status}: only a draft or scheduled campaign can start${current.status === 'paused' ? ' (resume it)' : ''}`,
      );
    }
    const view = await this.campaigns.transition(current, 'running', req.caller, body.reason ?? `started by ${req.caller.keyName}`);
    await this.lifecycle.started(id, Date.now());
    return view;
  }

  @Post(':id/pause')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'Pause a running campaign',
    description: 'Batches already with a provider finish; every other batch is parked and continues from the ledger on resume.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiNotFoundResponse({ description: 'No such campaign' })
  @ApiConflictResponse({ description: 'The campaign is not running' })
  async pause(@Param('id', CampaignIdPipe) id: string, @Body() body: TransitionDto, @Req() req: Req): Promise<CampaignView> {
    const current = await this.find(id);
    return this.campaigns.transition(current, 'paused', req.caller, body.reason ?? `paused by ${req.caller.keyName}`);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({ summary: 'Resume a paused campaign (also one paused for its error rate): no recipient skipped, none sent twice' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiNotFoundResponse({ description: 'No such campaign' })
  @ApiConflictResponse({ description: 'The campaign is not paused' })
  async resume(@Param('id', CampaignIdPipe) id: string, @Body() body: TransitionDto, @Req() req: Req): Promise<CampaignView> {
    const current = await this.find(id);
    if (current.status !== 'paused')
      throw new ConflictException(`campaign ${id} is ${current.status}: only a paused campaign can be resumed`);
    const view = await this.campaigns.transition(current, 'running', req.caller, body.reason ?? `resumed by ${req.caller.keyName}`);
    await this.lifecycle.resumed(id);
    return view;
  }

  private async find(id: string): Promise<Campaign> {
    const campaign = await this.repo.findById(id);
    if (!campaign) throw new NotFoundException(`no campaign with id ${id}`);
    return campaign;
  }
}
