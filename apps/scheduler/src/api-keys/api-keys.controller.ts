import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole, generateApiKey, type Caller } from '@tidegate/auth';
import { ApiKeyRepository } from '@tidegate/database';
import { ApiKeyView, CallerView, CreateApiKeyDto, CreatedApiKeyView } from './api-keys.dto';

@ApiTags('api-keys')
@Controller('admin')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeyRepository) {}

  @Get('whoami')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'The key this request was made with' })
  @ApiOkResponse({ type: CallerView })
  whoami(@Req() req: { caller: Caller }): CallerView {
    return req.caller;
  }

  @Get('api-keys')
  @RequireRole('sre')
  @ApiOperation({ summary: 'List API keys (never the keys themselves)' })
  @ApiOkResponse({ type: [ApiKeyView] })
  list(): Promise<ApiKeyView[]> {
    return this.keys.list();
  }

  @Post('api-keys')
  @RequireRole('sre')
  @ApiOperation({ summary: 'Create an API key; the key is returned once' })
  @ApiCreatedResponse({ type: CreatedApiKeyView })
  async create(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyView> {
    const generated = generateApiKey();
    const record = await this.keys.create({ name: body.name, role: body.role, prefix: generated.prefix, hash: generated.hash });
    return { ...record, key: generated.key };
  }

  @Delete('api-keys/:id')
  @HttpCode(200)
  @RequireRole('sre')
  @ApiOperation({ summary: 'Revoke an API key; it stops working at once' })
  @ApiOkResponse({ type: ApiKeyView })
  async revoke(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string): Promise<ApiKeyView> {
    const revoked = await this.keys.revoke(id);
    if (!revoked) throw new NotFoundException(`no API key with id ${id}`);
    return revoked;
  }
}
