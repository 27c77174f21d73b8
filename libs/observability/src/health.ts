import { Controller, Get, Inject, Module, type DynamicModule } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { PrismaService } from '@tidegate/database';
import { REDIS, pingRedis, type RedisClient } from '@tidegate/redis';
import { Public } from './public.decorator';

const CHECK_TIMEOUT_MS = 1000;

/**
 * `/health/live`: the process runs (restart it if not). `/health/ready`: it can serve, i.e. Redis and PostgreSQL
 * answer within a second; 503 with the failing dependency's reason otherwise. Both recover on their own.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  @Get('live')
  @Public()
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process is up' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @Public()
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: Redis and PostgreSQL answer' })
  ready() {
    return this.health.check([() => this.checkRedis(), () => this.checkPostgres()]);
  }

  private async checkRedis() {
    const indicator = this.indicators.check('redis');
    try {
      await pingRedis(this.redis, CHECK_TIMEOUT_MS);
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: errorMessage(err) });
    }
  }

  private async checkPostgres() {
    const indicator = this.indicators.check('postgres');
    try {
      await withTimeout(this.prisma.$queryRaw`SELECT 1`, CHECK_TIMEOUT_MS);
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: errorMessage(err) });
    }
  }
}

function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (
    msg
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim() ?? 'unknown error'
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

@Module({})
export class HealthModule {
  static forRoot(): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
    };
  }
}
