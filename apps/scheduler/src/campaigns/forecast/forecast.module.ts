import { Module } from '@nestjs/common';
import { RoomsModule } from '../../rooms/rooms.module';
import { ForecastController } from './forecast.controller';
import { ForecastService } from './forecast.service';

/**
 * The surge forecast (api role only): the campaigns module's services (global) and the rooms' traffic curve (for the
 * quietest send window).
 */
@Module({
  imports: [RoomsModule],
  controllers: [ForecastController],
  providers: [ForecastService],
})
export class ForecastModule {}
