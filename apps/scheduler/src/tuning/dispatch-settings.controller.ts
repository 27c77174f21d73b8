import { Body, Controller, Get, Patch, Query, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole, type Caller } from '@tidegate/auth';
import { DispatchSettingsService } from './dispatch-settings.service';
import { DispatchSettingsView, ListChangesQuery, SettingChangePageView, UpdateDispatchSettingsDto } from './tuning.dto';

const APPLIES =
  'The sending workers re-read the settings about once a second, so a change applies to running campaigns without a ' +
  'restart (rates and guards at once, a wave-size or interval default only to campaigns created afterwards). Every ' +
  'change is recorded with who made it, the whole old and new settings and the reason (GET /admin/dispatch/changes).';

@ApiTags('tuning')
@Controller('admin/dispatch')
export class DispatchSettingsController {
  constructor(private readonly settings: DispatchSettingsService) {}

  @Get('settings')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'The system-wide dispatch settings in force (defaults for what was never set)', description: APPLIES })
  @ApiOkResponse({ type: DispatchSettingsView })
  get(): Promise<DispatchSettingsView> {
    return this.settings.get();
  }

  @Patch('settings')
  @RequireRole('sre')
  @ApiOperation({
    summary: 'Change some dispatch settings; fields left out keep their value',
    description: `The result is checked as a whole (wave_size at least batch_size). A patch that changes nothing is answered the same and not recorded. ${APPLIES}`,
  })
  @ApiOkResponse({ type: DispatchSettingsView })
  @ApiBadRequestResponse({ description: 'A field is invalid (one `field: reason` per problem), unknown, or the body sets none' })
  update(@Body() body: UpdateDispatchSettingsDto, @Req() req: { caller: Caller }): Promise<DispatchSettingsView> {
    return this.settings.update(body, req.caller);
  }

  @Get('changes')
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'The change log of run-time tuning, newest first: who, when, the scope, the whole old and new value, why',
    description: 'Scopes: `dispatch` (PATCH /admin/dispatch/settings) and `campaign:<id>` (PATCH /admin/campaigns/:id/dispatch).',
  })
  @ApiOkResponse({ type: SettingChangePageView })
  @ApiBadRequestResponse({ description: 'A bad limit or cursor' })
  changes(@Query() query: ListChangesQuery): Promise<SettingChangePageView> {
    return this.settings.changes(query);
  }
}
