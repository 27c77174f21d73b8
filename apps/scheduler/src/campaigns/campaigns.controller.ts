import { Body, Controller, Get, HttpCode, Injectable, Param, Patch, Post, Query, Req, type PipeTransform } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RequireRole, type Caller } from '@tidegate/auth';
import {
  CampaignDetailView,
  CampaignPageView,
  CampaignStatsView,
  CampaignView,
  CreateCampaignDto,
  ListCampaignsQuery,
  PreviewCampaignDto,
  PreviewView,
  UpdateCampaignDto,
} from './campaigns.dto';
import { CampaignsService, parseCampaignId } from './campaigns.service';

/** 400 for an id that is not a UUID, before any look-up. */
@Injectable()
export class CampaignIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    return parseCampaignId(value);
  }
}

export const ID_PARAM = { name: 'id', format: 'uuid', description: 'The campaign id' };
const INVALID = 'A field is invalid: one `field: reason` message per problem (and `errors`, structured); nothing is written';
export type Req = { caller: Caller };

@ApiTags('campaigns')
@Controller('admin/campaigns')
export class CampaignsController {
  constructor(private readonly campaigns: CampaignsService) {}

  @Post()
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'Create a campaign (a draft)',
    description:
      'The message is checked against every provider the audience can reach (FCM and APNs 3882 bytes, Web Push 3779: the providers’ limits less the room for each push’s wave ticket), ' +
      'the segment with the rules of POST /admin/segments/estimate, the wave plan and send window with the planner’s. ' +
      'See docs/campaigns.md.',
  })
  @ApiCreatedResponse({ type: CampaignView })
  @ApiBadRequestResponse({ description: INVALID })
  create(@Body() body: CreateCampaignDto, @Req() req: Req): Promise<CampaignView> {
    return this.campaigns.create(body, req.caller);
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List campaigns, newest first, a page at a time (pass next_cursor as cursor)' })
  @ApiOkResponse({ type: CampaignPageView })
  @ApiBadRequestResponse({ description: 'A bad limit, status or cursor' })
  list(@Query() query: ListCampaignsQuery): Promise<CampaignPageView> {
    return this.campaigns.list(query);
  }

  @Post('preview')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'The wave plan of an unsaved campaign body: waves, their times and sizes, the estimated finish. Sends nothing',
    description: 'The body is a create body (name optional), checked the same way. The audience size is the segment estimate.',
  })
  @ApiOkResponse({ type: PreviewView })
  @ApiBadRequestResponse({ description: INVALID })
  previewBody(@Body() body: PreviewCampaignDto): Promise<PreviewView> {
    return this.campaigns.previewBody(body);
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'One campaign, with its totals so far (`stats`)',
    description: 'The totals are live from Redis, or the counters last flushed to PostgreSQL when Redis has none. Lists carry no stats.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignDetailView })
  @ApiNotFoundResponse({ description: 'No campaign with this id' })
  get(@Param('id', CampaignIdPipe) id: string): Promise<CampaignDetailView> {
    return this.campaigns.get(id);
  }

  @Get(':id/stats')
  @RequireRole('viewer')
  @ApiOperation({
    summary: "A campaign's counters: totals, sent per provider, and per wave with its due and start times",
    description:
      'Live from the stats hash in Redis that the sending workers update; when Redis holds none for the campaign (or does ' +
      'not answer), the counters last flushed to PostgreSQL (`source: postgres`). `opened` counts distinct openers. See docs/tuning.md.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignStatsView })
  @ApiNotFoundResponse({ description: 'No campaign with this id' })
  stats(@Param('id', CampaignIdPipe) id: string): Promise<CampaignStatsView> {
    return this.campaigns.liveStats(id);
  }

  @Patch(':id')
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'Change a draft or scheduled campaign',
    description: 'Each top-level field sent replaces the stored one whole; the result is checked like a create body.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: CampaignView })
  @ApiBadRequestResponse({ description: INVALID })
  @ApiNotFoundResponse({ description: 'No campaign with this id' })
  @ApiConflictResponse({ description: 'The campaign is no longer draft or scheduled' })
  update(@Param('id', CampaignIdPipe) id: string, @Body() body: UpdateCampaignDto, @Req() req: Req): Promise<CampaignView> {
    return this.campaigns.update(id, body, req.caller);
  }

  @Post(':id/clone')
  @RequireRole('marketer')
  @ApiOperation({ summary: 'A new draft with the same content, named "<name> (copy)"' })
  @ApiParam(ID_PARAM)
  @ApiCreatedResponse({ type: CampaignView })
  @ApiNotFoundResponse({ description: 'No campaign with this id' })
  clone(@Param('id', CampaignIdPipe) id: string, @Req() req: Req): Promise<CampaignView> {
    return this.campaigns.clone(id, req.caller);
  }

  @Post(':id/preview')
  @HttpCode(200)
  @RequireRole('viewer')
  @ApiOperation({ summary: "The wave plan of a saved campaign, from its start (or now): the audience's estimated size. Sends nothing" })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: PreviewView })
  @ApiBadRequestResponse({ description: 'The plan cannot be computed (too many waves, or longer than 366 days)' })
  @ApiNotFoundResponse({ description: 'No campaign with this id' })
  preview(@Param('id', CampaignIdPipe) id: string): Promise<PreviewView> {
    return this.campaigns.previewStored(id);
  }
}
