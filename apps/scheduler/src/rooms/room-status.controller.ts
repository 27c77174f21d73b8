import { Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdmissionStore, ROOM_SNAPSHOT_FRESH_MS, RoomSnapshotStore, type StoredRoomSnapshot } from '@tidegate/admission';
import { RequireRole } from '@tidegate/auth';
import { RoomRepository } from '@tidegate/database';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import { RoomIdPipe } from './rooms.controller';

const SESSION_ID = /^[st][A-Za-z0-9_-]{1,40}$/;

export class OriginHealthView {
  @ApiProperty({
    description:
      "false while the origin breaks the room's thresholds (origin_max_p95_ms, origin_max_error_rate, with at least " +
      'origin_min_requests requests in the last 30 s); true again once within them for 10 s. Campaigns feeding the room hold while false',
  })
  healthy!: boolean;
  @ApiProperty({ description: 'Since when healthy has had its present value (ms since the epoch)' }) since!: number;
  @ApiProperty({ enum: ['latency', 'errors'], nullable: true, type: String, description: 'What broke a threshold, while unhealthy' })
  reason!: 'latency' | 'errors' | null;
  @ApiProperty({ description: 'Requests proxied to the origin in the last 30 s, all gateways' }) requests!: number;
  @ApiProperty({ nullable: true, type: Number }) p50Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number }) p95Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number }) p99Ms!: number | null;
  @ApiProperty({ description: 'Share of those requests that failed: 5xx answers, refused, reset or timed-out connections' })
  errorRate!: number;
  @ApiProperty({ description: 'What the admission rate is multiplied by now (unhealthy_admission_factor while unhealthy, else 1)' })
  admissionFactor!: number;
}

export class RoomStatusView {
  @ApiProperty({ example: 'spring-sale' }) roomId!: string;
  @ApiProperty({ description: 'When a gateway took this snapshot (ISO time)' }) reportedAt!: string;
  @ApiProperty({ description: 'People waiting in line' }) waiting!: number;
  @ApiProperty({ description: 'Admitted sessions, and reservations waiting to be claimed' }) active!: number;
  @ApiProperty({ description: 'Admissions in the last minute (measured)' }) admittedPerMinute!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Estimated wait for someone arriving now; null when nobody is being admitted' })
  estimatedWaitSeconds!: number | null;
  @ApiProperty({ description: 'How long the first person in line has waited' }) oldestTicketAgeSeconds!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'Estimated wait over max_wait_seconds (above 1: over budget); null when stalled',
  })
  pressure!: number | null;
  @ApiProperty({ description: 'Last ticket number issued' }) tickets!: number;
  @ApiProperty({ description: 'Every ticket up to this number has been admitted or skipped' }) serving!: number;
  @ApiProperty({ description: 'Tickets in line whose holders left' }) gone!: number;
  @ApiProperty() queueAll!: boolean;
  @ApiProperty() suspended!: boolean;
  @ApiProperty({
    type: OriginHealthView,
    required: false,
    description: "The origin's health as the gateways measure it (absent while no gateway measures it yet: take it as healthy)",
  })
  origin?: OriginHealthView;
}

/** What SREs watch and do about a room's line: its live numbers, and ending a session. */
@ApiTags('rooms')
@Controller('admin/rooms')
export class RoomStatusController {
  private readonly snapshots: RoomSnapshotStore;

  constructor(
    private readonly rooms: RoomRepository,
    private readonly admission: AdmissionStore,
    @Inject(REDIS) redis: RedisClient,
    keys: RedisKeys,
  ) {
    this.snapshots = new RoomSnapshotStore(redis, keys);
  }

  @Get(':id/status')
  @RequireRole('viewer')
  @ApiOperation({
    summary: "A room's line right now: waiting, active sessions, admitted per minute, estimated wait, oldest ticket age",
    description: 'From the snapshot the gateways publish once a second (also exported as tidegate_room_* Prometheus metrics).',
  })
  @ApiParam({ name: 'id', example: 'spring-sale' })
  @ApiOkResponse({ type: RoomStatusView })
  @ApiNotFoundResponse({ description: 'No such room' })
  @ApiServiceUnavailableResponse({ description: 'No gateway has reported on this room in the last 5 seconds, or Redis is down' })
  async status(@Param('id', RoomIdPipe) id: string): Promise<RoomStatusView> {
    if (!(await this.rooms.findById(id))) throw new NotFoundException(`no room ${id}`);
    let stored: StoredRoomSnapshot | null;
    try {
      stored = await this.snapshots.read(id);
    } catch (err) {
      throw new ServiceUnavailableException(`Redis did not answer: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!stored?.fresh) {
      const seconds = ROOM_SNAPSHOT_FRESH_MS / 1000;
      throw new ServiceUnavailableException(`no gateway has reported on room ${id} in the last ${seconds} seconds: is a gateway running?`);
    }
    const { at, roomId, ...numbers } = stored.snapshot;
    return { roomId, reportedAt: new Date(at).toISOString(), ...numbers };
  }

  @Delete(':id/sessions/:sessionId')
  @HttpCode(200)
  @RequireRole('sre')
  @ApiOperation({
    summary: 'End an admitted session (revoke it): its next request goes back to the waiting room, and its place frees up',
    description:
      'The session id is the `sub` claim of the admission token. An origin can also end a session without an API key by ' +
      "calling the gateway's POST /rooms/{id}/leave with the user's token.",
  })
  @ApiParam({ name: 'id', example: 'spring-sale' })
  @ApiParam({ name: 'sessionId', example: 't1765000000-115' })
  @ApiOkResponse({ schema: { type: 'object', properties: { ended: { type: 'boolean', example: true } } } })
  @ApiNotFoundResponse({ description: 'No such room, or no live session with that id' })
  async revoke(@Param('id', RoomIdPipe) id: string, @Param('sessionId') sessionId: string): Promise<{ ended: true }> {
    if (!SESSION_ID.test(sessionId)) throw new NotFoundException(`no session ${JSON.stringify(sessionId.slice(0, 50))} in room ${id}`);
    if (!(await this.rooms.findById(id))) throw new NotFoundException(`no room ${id}`);
    const { sessionEnded } = await this.admission.leave(id, { sessionId });
    if (!sessionEnded) throw new NotFoundException(`no live session ${sessionId} in room ${id}`);
    return { ended: true };
  }
}
