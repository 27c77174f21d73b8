import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '@tidegate/auth';
import { QueueStatsService, type QueueCounts } from './queue-stats.service';

@ApiTags('queues')
@Controller('admin/queues')
export class QueuesController {
  constructor(private readonly stats: QueueStatsService) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Job counts per BullMQ queue and state' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } },
      example: { send: { waiting: 12, active: 4, delayed: 0, failed: 1 } },
    },
  })
  async counts(): Promise<Record<string, QueueCounts>> {
    try {
      return await this.stats.counts();
    } catch (err) {
      throw new ServiceUnavailableException(`Redis did not answer: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
