import { Module, type DynamicModule } from '@nestjs/common';
import { AdminAuthModule } from '@tidegate/auth';
import { ApiKeyRepository } from '@tidegate/database';
import { ApiKeysController } from './api-keys.controller';
import { BootstrapKeyService } from './bootstrap-key.service';

@Module({})
export class ApiKeysModule {
  static forRoot(bootstrapKey: string | undefined): DynamicModule {
    return {
      module: ApiKeysModule,
      imports: [AdminAuthModule],
      controllers: [ApiKeysController],
      providers: [
        {
          provide: BootstrapKeyService,
          inject: [ApiKeyRepository],
          useFactory: (keys: ApiKeyRepository) => new BootstrapKeyService(keys, bootstrapKey),
        },
      ],
    };
  }
}
