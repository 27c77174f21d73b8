import { Module } from '@nestjs/common';
import { AdmissionStore } from '@tidegate/admission';
import { REDIS, RedisKeys, type RedisClient } from '@tidegate/redis';
import { RoomStatusController } from './room-status.controller';
import { RoomTrafficController } from './room-traffic.controller';
import { RoomTrafficService } from './room-traffic.service';
import { RoomsController } from './rooms.controller';
import { RoomsService } from './rooms.service';

/** The waiting rooms' admin API (api role only). RoomRepository, REDIS and RedisKeys come from global modules. */
@Module({
  controllers: [RoomsController, RoomStatusController, RoomTrafficController],
  providers: [
    RoomsService,
    RoomTrafficService,
    {
      provide: AdmissionStore,
      inject: [REDIS, RedisKeys],
      // Only `leave` (revoking a session) and `forgetRoom` (deleting a room) are used here; the grace period matters to
      // check-ins, which the gateway handles.
      useFactory: (redis: RedisClient, keys: RedisKeys) => new AdmissionStore(redis, keys, { graceMs: 60_000 }),
    },
  ],
  exports: [RoomsService, RoomTrafficService],
})
export class RoomsModule {}
