import { Controller, Get, Inject, Module, type DynamicModule } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { PrismaService } from '@tidegate/database';
import { REDIS, pingRedis, type RedisClient } from '@tidegate/redis';
import { Public } from './public.decorator';

const CHECK_TIMEOUT_MS = 1000;

/** An app's own readiness condition (e.g. the gateway's rooms loaded once): null when ready, else why not. */
export interface ReadinessCheck {
  name: string;
  problem(): string | null;
}
/** Provided by an app module (anywhere in the app) to add its own conditions to `/health/ready`. */
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

export interface HealthOptions {
  /**
   * Whether the app can serve without PostgreSQL (default true: it needs it). The gateway and the ws app admit and
   * place users from Redis alone, so PostgreSQL being out of reach must not take them out of a load balancer.
   */
  needsPostgres?: boolean;
}
const HEALTH_OPTIONS = Symbol('HEALTH_OPTIONS');

/**
 * `/health/live`: the process runs (restart it if not). `/health/ready`: it can serve, i.e. Redis (and PostgreSQL,
 * for the apps that need it) answer within a second and the app's own conditions hold (READINESS_CHECKS); 503 with
 * the failing dependency's reason otherwise. Both recover on their own.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(HEALTH_OPTIONS) private readonly options: Required<HealthOptions>,
    private readonly moduleRef: ModuleRef,
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
  @ApiOperation({ summary: 'Readiness: Redis (and PostgreSQL, for the scheduler) answer, and the app can serve' })
  ready() {
    const own = this.ownChecks().map((c) => () => this.checkOwn(c));
    return this.health.check([() => this.checkRedis(), ...(this.options.needsPostgres ? [() => this.checkPostgres()] : []), ...own]);
  }

  private ownChecks(): ReadinessCheck[] {
    try {
      return this.moduleRef.get<ReadinessCheck[]>(READINESS_CHECKS, { strict: false });
    } catch {
      return []; // the app adds none
    }
  }

  private checkOwn(check: ReadinessCheck) {
    const indicator = this.indicators.check(check.name);
    const problem = check.problem();
    return Promise.resolve(problem === null ? indicator.up() : indicator.down({ message: problem }));
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
  static forRoot(options: HealthOptions = {}): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [{ provide: HEALTH_OPTIONS, useValue: { needsPostgres: options.needsPostgres ?? true } }],
    };
  }
}
