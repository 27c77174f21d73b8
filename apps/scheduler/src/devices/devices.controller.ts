import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Injectable,
  Logger,
  Param,
  Patch,
  Post,
  Req,
  Res,
  UnsupportedMediaTypeException,
  type PipeTransform,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequireRole } from '@tidegate/auth';
import type { AudienceEstimate } from '@tidegate/database';
import {
  DevicesImportService,
  ImportInterruptedError,
  MAX_LISTED_ERRORS,
  type ImportFormat,
  type ImportResult,
} from './devices-import.service';
import {
  DeviceView,
  ImportResultView,
  RegisterDeviceDto,
  RegisteredDeviceView,
  SegmentDto,
  SegmentEstimateView,
  UpdateDeviceDto,
} from './devices.dto';
import { DevicesService, parseDeviceId } from './devices.service';

/** 400 for an id that is not a positive integer, before any look-up. */
@Injectable()
export class DeviceIdPipe implements PipeTransform<string, bigint> {
  transform(value: string): bigint {
    return parseDeviceId(value);
  }
}

/** Media types of a bulk import, and the format each means. */
export const IMPORT_MEDIA_TYPES: Readonly<Record<string, ImportFormat>> = {
  'text/csv': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
};
export const IMPORT_PATH = '/admin/devices/import';

const ID_PARAM = { name: 'id', example: '42', description: 'The device id (digits)' };

@ApiTags('devices')
@Controller('admin')
export class DevicesController {
  private readonly logger = new Logger('DevicesImport');

  constructor(
    private readonly devices: DevicesService,
    private readonly importer: DevicesImportService,
  ) {}

  @Post('devices')
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'Register a device, or update the one with the same platform and token (idempotent)',
    description:
      'The body is the whole state of the device: fields left out take their defaults. Registering reactivates a ' +
      'deactivated device and sets last_seen_at to now. For Web Push, token is the subscription endpoint and p256dh ' +
      'and auth are its keys (PushSubscription.toJSON()).',
  })
  @ApiCreatedResponse({ type: RegisteredDeviceView, description: 'A new device' })
  @ApiOkResponse({ type: RegisteredDeviceView, description: 'An existing device, updated' })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one' })
  async register(@Body() body: RegisterDeviceDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<RegisteredDeviceView> {
    const view = await this.devices.register(body);
    reply.status(view.created ? 201 : 200);
    return view;
  }

  @Post('devices/import')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'Bulk import devices from a CSV or NDJSON upload, streamed (any size, bounded memory)',
    description:
      'text/csv: a header line naming the columns (platform,token,p256dh,auth,user_id,timezone,locale,tags,app_version, ' +
      'and optionally last_seen_at; any order, platform and token required), then one device per line; tags separated ' +
      'by |. application/x-ndjson: one JSON object per line with the same snake_case field names (tags an array). ' +
      'Each row is checked with the rules of POST /admin/devices and upserted by platform and token, so importing a ' +
      `file again updates, never duplicates. The answer counts rows and lists the first ${MAX_LISTED_ERRORS} problems ` +
      'with their line numbers. If the upload stops half way (the client disconnects), the rows written so far stay.',
  })
  @ApiConsumes('text/csv', 'application/x-ndjson')
  @ApiBody({
    schema: { type: 'string', format: 'binary' },
    examples: {
      csv: {
        value:
          'platform,token,p256dh,auth,user_id,timezone,locale,tags,app_version\napns,<64 hex>,,,u1,Europe/Paris,fr-FR,vip|beta,2.4.0\n',
      },
    },
  })
  @ApiOkResponse({ type: ImportResultView })
  @ApiBadRequestResponse({ description: 'An empty upload, or a CSV header that does not name known columns (before any row is read)' })
  @ApiUnsupportedMediaTypeResponse({ description: 'Neither text/csv nor application/x-ndjson' })
  async import(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<ImportResult> {
    const mediaType = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    const format = IMPORT_MEDIA_TYPES[mediaType];
    if (!format) {
      reply.header('connection', 'close');
      throw new UnsupportedMediaTypeException(
        `send the devices as text/csv or application/x-ndjson, not ${mediaType || 'no content type'}`,
      );
    }
    const body = req.body as AsyncIterable<Buffer> | undefined;
    if (!body) throw new BadRequestException(['the upload is empty']);
    try {
      return await this.importer.import(body, format);
    } catch (err) {
      // An answer before the whole body was read: close the connection rather than read the rest.
      reply.header('connection', 'close');
      if (err instanceof ImportInterruptedError) {
        this.logger.warn(err.message);
        throw new BadRequestException([`the upload was cut short: ${err.message}`]);
      }
      throw err;
    }
  }

  @Get('devices/:id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One device (Web Push keys are not returned)' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: DeviceView })
  @ApiBadRequestResponse({ description: 'The id is not digits' })
  @ApiNotFoundResponse({ description: 'No device with this id' })
  get(@Param('id', DeviceIdPipe) id: bigint): Promise<DeviceView> {
    return this.devices.get(id);
  }

  @Patch('devices/:id')
  @RequireRole('marketer')
  @ApiOperation({ summary: "Change some of a device's attributes (not its platform or token)" })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: DeviceView })
  @ApiBadRequestResponse({ description: 'A field is invalid (the message names each one), or the body sets no field' })
  @ApiNotFoundResponse({ description: 'No device with this id' })
  @ApiConflictResponse({ description: 'Another device has this platform and token' })
  update(@Param('id', DeviceIdPipe) id: bigint, @Body() body: UpdateDeviceDto): Promise<DeviceView> {
    return this.devices.update(id, body);
  }

  @Delete('devices/:id')
  @HttpCode(200)
  @RequireRole('marketer')
  @ApiOperation({
    summary: 'Delete a device: it is deactivated (active false, reason deleted) and never sent to again',
    description: 'The row stays so campaign stats keep pointing at it. Registering the same platform and token reactivates it.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: DeviceView })
  @ApiNotFoundResponse({ description: 'No device with this id' })
  remove(@Param('id', DeviceIdPipe) id: bigint): Promise<DeviceView> {
    return this.devices.remove(id);
  }

  @Post('segments/estimate')
  @HttpCode(200)
  @RequireRole('viewer')
  @ApiOperation({
    summary: "A segment's audience size, without a full scan on a large table",
    description:
      "Up to 100,000 devices in the table: an exact count. Above: PostgreSQL's query-planner estimate from its " +
      'statistics (refreshed after every import), typically within a factor of 2 and worse for correlated filters. ' +
      'See docs/devices.md.',
  })
  @ApiOkResponse({ type: SegmentEstimateView })
  @ApiBadRequestResponse({ description: 'A segment field is invalid; the message names each one' })
  estimate(@Body() body: SegmentDto): Promise<AudienceEstimate> {
    return this.devices.estimate(body);
  }
}
