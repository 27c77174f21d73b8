import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RequireRole } from '@tidegate/auth';
import { CampaignIdPipe, ID_PARAM, type Req as AdminReq } from '../campaigns.controller';
import { CampaignView, ResendView, ScheduleCampaignDto, TimelinePageView, TimelineQuery, TransitionDto } from '../campaigns.dto';
import { CampaignsService, toCampaignView } from '../campaigns.service';
import { CampaignLifecycle, apiActor } from './campaign-lifecycle';
import { toTimelinePage } from './campaign-timeline';

const NOT_FOUND = 'No campaign with this id';

/** The lifecycle's routes: each one a transition of CampaignLifecycle (which checks and records it), or its timeline. */
@ApiTags('campaigns')
@Controller('admin/campaigns')
export class CampaignLifecycleController {
  constructor(
    private readonly lifecycle: CampaignLifecycle,
    private readonly campaigns: CampaignsService,
  ) {}

  @Post(':id/schedule')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'draft → scheduled, with the start time (and send window) in the same call',
    description:
      'start_at and send_window in the body replace the stored ones (checked like a PATCH); without start_at the stored schedule.start_at is used. It must be in the future.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiBadRequestResponse({
    description: 'start_at is missing, not in the future or invalid, or the send window is invalid; nothing is written',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: 'The campaign is not a draft' })
  async schedule(@Param('id', CampaignIdPipe) id: string, @Body() body: ScheduleCampaignDto, @Req() req: AdminReq): Promise<CampaignView> {
    const dto = body ?? {};
    const { startAt, schedule } = await this.campaigns.scheduleFor(id, dto);
    return toCampaignView(await this.lifecycle.schedule(id, apiActor(req.caller), startAt, dto.reason, schedule));
  }

  @Post(':id/start')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({ summary: 'Start sending now (a draft or a scheduled campaign): wave 1 is planned at once, inside the send window' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: 'The campaign is not draft or scheduled' })
  async start(@Param('id', CampaignIdPipe) id: string, @Body() body: TransitionDto, @Req() req: AdminReq): Promise<CampaignView> {
    return toCampaignView(await this.lifecycle.start(id, apiActor(req.caller), body?.reason));
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
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: 'The campaign is not running' })
  async pause(@Param('id', CampaignIdPipe) id: string, @Body() body: TransitionDto, @Req() req: AdminReq): Promise<CampaignView> {
    return toCampaignView(await this.lifecycle.pause(id, apiActor(req.caller), body?.reason));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'Resume a paused campaign (also one paused by a guard): no recipient skipped, none sent twice',
    description: 'Recipients that failed for a transient cause (5xx, timeout, 429 after their last attempt) are sent again.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: 'The campaign is not paused' })
  async resume(@Param('id', CampaignIdPipe) id: string, @Body() body: TransitionDto, @Req() req: AdminReq): Promise<CampaignView> {
    return toCampaignView((await this.lifecycle.resume(id, apiActor(req.caller), body?.reason)).campaign);
  }

  @Post(':id/resend-failed')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({
    summary: "Send the campaign's failed recipients again",
    description:
      'Every recipient whose outcome is failed (not invalid tokens, not inactive devices) is queued again, exactly once; a completed campaign runs again until they have an outcome, a paused one is resumed.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: ResendView })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: 'The campaign is draft, scheduled, cancelled or failed' })
  async resend(@Param('id', CampaignIdPipe) id: string, @Body() body: TransitionDto, @Req() req: AdminReq): Promise<ResendView> {
    const { campaign, resent } = await this.lifecycle.resend(id, apiActor(req.caller), body?.reason);
    return { campaign: toCampaignView(campaign), resent };
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({ summary: 'draft, scheduled, running or paused → cancelled (final)' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: 'The campaign is completed, cancelled or failed already' })
  async cancel(@Param('id', CampaignIdPipe) id: string, @Body() body: TransitionDto, @Req() req: AdminReq): Promise<CampaignView> {
    return toCampaignView(await this.lifecycle.cancel(id, apiActor(req.caller), body?.reason));
  }

  @Get(':id/timeline')
  @RequireRole('viewer')
  @ApiOperation({
    summary: "The campaign's timeline: every status change and every decision of the sender, oldest first",
    description: 'Who or what acted (an API key name, or clock, worker, a guard, planner, watchdog), why, the figures, when.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: TimelinePageView })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async timeline(@Param('id', CampaignIdPipe) id: string, @Query() query: TimelineQuery): Promise<TimelinePageView> {
    return toTimelinePage(await this.campaigns.timeline(id, query));
  }
}
