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

export interface MetricsModuleOptions {
  /**
   * Serve GET /metrics on the app's own port (the default: the scheduler's port is internal). The public-facing apps
   * (gateway, ws) pass false and serve the registry on their internal listener (libs/platform serveInternal).
   */
  scrapeRoute?: boolean;
}

@Module({})
export class MetricsModule {
  static forRoot(app: string, options: MetricsModuleOptions = {}): DynamicModule {
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
      controllers: options.scrapeRoute === false ? [] : [MetricsController],
      exports: [MetricsRegistry],
    };
  }
}
