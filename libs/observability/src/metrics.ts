import { Controller, Get, Header, Module, type DynamicModule } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Public } from './public.decorator';

/** The app's Prometheus registry: inject it to register metrics; every metric gets an `app` label. */
export class MetricsRegistry extends Registry {}

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: MetricsRegistry) {}

  @Get()
  @Public()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

@Module({})
export class MetricsModule {
  static forRoot(app: string): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      providers: [
        {
          provide: MetricsRegistry,
          useFactory: () => {
            const registry = new MetricsRegistry();
            registry.setDefaultLabels({ app });
            collectDefaultMetrics({ register: registry, prefix: 'tidegate_' });
            return registry;
          },
        },
      ],
      controllers: [MetricsController],
      exports: [MetricsRegistry],
    };
  }
}
