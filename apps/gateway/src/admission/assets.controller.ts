import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@tidegate/observability';
import { WAITING_ROOM_CSS, WAITING_ROOM_JS } from './waiting-room.assets';

/** The waiting page's script and styles: static and the same for every room, so caches may keep them. */
@ApiExcludeController()
@Controller('_tidegate')
export class AssetsController {
  @Get('waiting-room.js')
  @Public()
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  script(): string {
    return WAITING_ROOM_JS;
  }

  @Get('waiting-room.css')
  @Public()
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  styles(): string {
    return WAITING_ROOM_CSS;
  }
}
