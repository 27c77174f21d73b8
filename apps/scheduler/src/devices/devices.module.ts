import { Module, UnsupportedMediaTypeException, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { DevicesImportService } from './devices-import.service';
import { DevicesController, IMPORT_MEDIA_TYPES, IMPORT_PATH } from './devices.controller';
import { DevicesService } from './devices.service';

/**
 * Devices, bulk import and segment estimates (api role only). DeviceRepository comes from the global DatabaseModule.
 *
 * The import's media types get a Fastify content-type parser that hands the request stream to the route untouched:
 * no buffering, so the app's body limit (1 MiB) does not apply and a file of any size streams through. Other routes
 * refuse these types with 415.
 */
@Module({
  controllers: [DevicesController],
  providers: [DevicesService, DevicesImportService],
})
export class DevicesModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return; // preview mode (OpenAPI generation): no server
    fastify.addContentTypeParser(Object.keys(IMPORT_MEDIA_TYPES), (request, payload, done) => {
      if (request.routeOptions.url !== IMPORT_PATH) {
        done(new UnsupportedMediaTypeException(`${request.headers['content-type']} is accepted only by POST ${IMPORT_PATH}`), undefined);
        return;
      }
      done(null, payload);
    });
  }
}
