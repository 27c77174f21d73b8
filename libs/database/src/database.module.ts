import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { PgAdapterOptions } from './pg-adapter';
import { PrismaService } from './prisma.service';
import { ApiKeyRepository } from './api-key.repository';
import { RoomRepository } from './room.repository';
import { DeviceRepository } from './device.repository';
import { CampaignRepository } from './campaign.repository';
import { DispatchSettingsRepository } from './dispatch-settings.repository';
import { RoomTrafficRepository } from './room-traffic.repository';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: PgAdapterOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: PrismaService, useFactory: () => new PrismaService(options) },
        ApiKeyRepository,
        RoomRepository,
        DeviceRepository,
        CampaignRepository,
        DispatchSettingsRepository,
        RoomTrafficRepository,
      ],
      exports: [
        PrismaService,
        ApiKeyRepository,
        RoomRepository,
        DeviceRepository,
        CampaignRepository,
        DispatchSettingsRepository,
        RoomTrafficRepository,
      ],
    };
  }
}
