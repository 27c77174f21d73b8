import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { RequireRole } from '@tidegate/auth';
import { HOURS_PER_WEEK, WEEK_DAYS, type WeekDay } from '@tidegate/domain';
import { RoomIdPipe } from './rooms.controller';
import { RoomTrafficService } from './room-traffic.service';

export const DEFAULT_WINDOW_HOURS = 2;

class WeekTimeView {
  @ApiProperty({ enum: WEEK_DAYS }) day!: WeekDay;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 23 }) hour!: number;
}

export class TrafficPointView {
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 167, description: '0 = Monday 00:00-01:00 UTC … 167 = Sunday 23:00-24:00 UTC' })
  hourOfWeek!: number;
  @ApiProperty({ enum: WEEK_DAYS }) day!: WeekDay;
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 23, description: 'Hour of the day, UTC' }) hour!: number;
  @ApiProperty({ description: 'Arrivals per hour: new visitors counted in this hour of the week over the time observed' })
  meanArrivalsPerHour!: number;
  @ApiProperty({ description: 'Mean active sessions (sampled once a second)' }) meanActive!: number;
  @ApiProperty({ type: 'integer', description: 'Seconds observed (samples of active sessions); 0: never observed' }) samples!: number;
}

export class IdleWindowView {
  @ApiProperty({ type: 'integer' }) startHourOfWeek!: number;
  @ApiProperty({ type: 'integer', description: 'Exclusive; wraps from Sunday into Monday' }) endHourOfWeek!: number;
  @ApiProperty({ type: WeekTimeView }) start!: WeekTimeView;
  @ApiProperty({ type: WeekTimeView }) end!: WeekTimeView;
  @ApiProperty({ enum: ['UTC'] }) timeZone!: 'UTC';
  @ApiProperty({ type: 'integer' }) hours!: number;
  @ApiProperty({ description: 'Mean over the window of capacity − typical active sessions' }) meanSpare!: number;
  @ApiProperty({ description: 'The least spare capacity of any hour in the window' }) minSpare!: number;
}

export class RoomTrafficView {
  @ApiProperty({ example: 'spring-sale' }) roomId!: string;
  @ApiProperty({ enum: ['UTC'] }) timeZone!: 'UTC';
  @ApiProperty({ type: 'integer', description: "The room's total_active_users" }) capacity!: number;
  @ApiProperty({ type: 'integer' }) windowHours!: number;
  @ApiProperty({ type: [TrafficPointView], description: '168 points, one per hour of the week, in order' }) points!: TrafficPointView[];
  @ApiProperty({
    type: IdleWindowView,
    nullable: true,
    description: 'The window_hours-long send window with the most spare capacity; null until every hour of some such window was observed',
  })
  suggestion!: IdleWindowView | null;
}

@ApiTags('rooms')
@Controller('admin/rooms')
export class RoomTrafficController {
  constructor(private readonly traffic: RoomTrafficService) {}

  @Get(':id/traffic')
  @RequireRole('viewer')
  @ApiOperation({
    summary: "A room's traffic per hour of the week (UTC), and the send window with the most spare capacity",
    description:
      'Arrivals and active sessions the gateways observed, per hour of the week, averaged over every week observed ' +
      '(PostgreSQL room_traffic, flushed every minute, plus what the gateways counted since).',
  })
  @ApiParam({ name: 'id', example: 'spring-sale' })
  @ApiQuery({
    name: 'window_hours',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: HOURS_PER_WEEK, default: DEFAULT_WINDOW_HOURS },
  })
  @ApiOkResponse({ type: RoomTrafficView })
  @ApiBadRequestResponse({ description: 'The id is not a slug, or window_hours is not an integer from 1 to 168' })
  @ApiNotFoundResponse({ description: 'No room with this id' })
  async get(@Param('id', RoomIdPipe) id: string, @Query('window_hours') windowHours?: string): Promise<RoomTrafficView> {
    const hours = windowHours === undefined ? DEFAULT_WINDOW_HOURS : Number(windowHours);
    if (!/^\d+$/.test(windowHours ?? String(DEFAULT_WINDOW_HOURS)) || hours < 1 || hours > HOURS_PER_WEEK) {
      throw new BadRequestException([`window_hours must be an integer from 1 to ${HOURS_PER_WEEK}`]);
    }
    const traffic = await this.traffic.withSuggestion(id, hours);
    return { ...traffic, timeZone: 'UTC', windowHours: hours };
  }
}
