import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Injectable,
  Param,
  Patch,
  Post,
  Req,
  type PipeTransform,
} from '@nestjs/common';
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
import { CreateRoomDto, ROOM_ID_PATTERN, ROOM_ID_RULE, RoomChangeView, RoomView, UpdateRoomDto } from './rooms.dto';
import { RoomsService } from './rooms.service';

/** 400 for a malformed room id in the URL, before any look-up. */
@Injectable()
export class RoomIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!ROOM_ID_PATTERN.test(value)) throw new BadRequestException([`id ${ROOM_ID_RULE}`]);
    return value;
  }
}

const HOT_COPY =
  'PostgreSQL is the source of truth. After the change is saved, the settings are written to Redis, where every gateway ' +
  'applies them within a second; if Redis cannot be written the request still succeeds with `live: false` (and a ' +
  'warning in the log): gateways also resync from PostgreSQL periodically. Every change is logged with who made it ' +
  'and the old and new values.';

const ID_PARAM = { name: 'id', example: 'spring-sale', description: 'The room id (a lowercase slug)' };

@ApiTags('rooms')
@Controller('admin/rooms')
export class RoomsController {
  constructor(private readonly rooms: RoomsService) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List waiting rooms' })
  @ApiOkResponse({ type: [RoomView] })
  list(): Promise<RoomView[]> {
    return this.rooms.list();
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'One waiting room' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: RoomView })
  @ApiBadRequestResponse({ description: 'The id is not a slug' })
  @ApiNotFoundResponse({ description: 'No room with this id' })
  get(@Param('id', RoomIdPipe) id: string): Promise<RoomView> {
    return this.rooms.get(id);
  }

  @Post()
  @RequireRole('sre')
  @ApiOperation({ summary: 'Create a waiting room; settings left out take their defaults', description: HOT_COPY })
  @ApiCreatedResponse({ type: RoomChangeView })
  @ApiBadRequestResponse({ description: 'A field is invalid; the message names each one' })
  @ApiConflictResponse({ description: 'A room with this id exists already' })
  create(@Body() body: CreateRoomDto, @Req() req: { caller: Caller }): Promise<RoomChangeView> {
    return this.rooms.create(body, req.caller);
  }

  @Patch(':id')
  @RequireRole('sre')
  @ApiOperation({ summary: 'Change some settings of a waiting room (every field but the id)', description: HOT_COPY })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: RoomChangeView })
  @ApiBadRequestResponse({ description: 'A field is invalid (the message names each one), or the body sets no field' })
  @ApiNotFoundResponse({ description: 'No room with this id' })
  update(@Param('id', RoomIdPipe) id: string, @Body() body: UpdateRoomDto, @Req() req: { caller: Caller }): Promise<RoomChangeView> {
    return this.rooms.update(id, body, req.caller);
  }

  @Delete(':id')
  @HttpCode(200)
  @RequireRole('sre')
  @ApiOperation({
    summary: 'Delete a waiting room; campaigns that used it keep running without one',
    description: `Returns the deleted room. ${HOT_COPY}`,
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: RoomChangeView })
  @ApiBadRequestResponse({ description: 'The id is not a slug' })
  @ApiNotFoundResponse({ description: 'No room with this id' })
  remove(@Param('id', RoomIdPipe) id: string, @Req() req: { caller: Caller }): Promise<RoomChangeView> {
    return this.rooms.remove(id, req.caller);
  }
}
