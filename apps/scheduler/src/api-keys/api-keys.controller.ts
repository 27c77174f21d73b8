import { Body, Controller, Delete, Get, HttpCode, Logger, NotFoundException, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole, VerifiedKeyCache, generateApiKey, type Caller } from '@tidegate/auth';
import { ApiKeyRepository } from '@tidegate/database';
import { ApiKeyView, CallerView, CreateApiKeyDto, CreatedApiKeyView } from './api-keys.dto';

@ApiTags('api-keys')
@Controller('admin')
export class ApiKeysController {
  private readonly logger = new Logger(ApiKeysController.name);

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly verified: VerifiedKeyCache,
  ) {}

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
    await this.verified.forget(revoked.prefix).catch((err: unknown) => {
      // It still expires within a minute, and PostgreSQL (which has the revocation) is asked first whenever it is up.
      this.logger.warn(`could not drop revoked key tg_${revoked.prefix}_… from the verified-keys cache: ${String(err)}`);
    });
    return revoked;
  }
}
