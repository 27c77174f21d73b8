/** The early request hook runs ahead of Nest's middleware, through createHttpApp. */
import { Controller, Get, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { loggingModule } from '@tidegate/observability';
import { setEarlyRequestHook } from './early-request-hook';
import { createHttpApp } from './http-app';

const middlewareSaw: string[] = [];

@Controller()
class PingController {
  @Get('ping') ping(): unknown {
    return { pong: true };
  }
}

@Module({ imports: [loggingModule({ app: 'test', level: 'silent', requests: false })], controllers: [PingController] })
class PingModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((req: { originalUrl?: string }, _res: unknown, next: () => void) => {
        middlewareSaw.push(req.originalUrl ?? '');
        next();
      })
      .forRoutes('{*path}');
  }
}

describe('early request hook', () => {
  let app: NestFastifyApplication;
  let fastify: FastifyInstance;

  beforeAll(async () => {
    app = await createHttpApp(PingModule, { bootLogs: false });
    fastify = app.getHttpAdapter().getInstance();
    setEarlyRequestHook(fastify, (request, reply) => {
      if (request.url === '/answered') {
        void reply.code(202).send({ early: true });
        return Promise.resolve(true);
      }
      if (request.url === '/async-pass') return Promise.resolve(false);
      if (request.url === '/fails') return Promise.reject(new Error('boom'));
      return undefined;
    });
    await app.init();
    await fastify.ready();
  });

  afterAll(() => app.close());
  beforeEach(() => {
    middlewareSaw.length = 0;
  });

  it('answers before any Nest middleware runs', async () => {
    const res = await fastify.inject({ method: 'GET', url: '/answered' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ early: true });
    expect(middlewareSaw).toEqual([]);
  });

  it('lets a request it leaves (synchronously or not) through to Nest, middleware included', async () => {
    const res = await fastify.inject({ method: 'GET', url: '/ping' });
    expect(res.json()).toEqual({ pong: true });
    expect((await fastify.inject({ method: 'GET', url: '/async-pass' })).statusCode).toBe(404);
    expect(middlewareSaw).toEqual(['/ping', '/async-pass']);
  });

  it('passes a failure to the error handler', async () => {
    const res = await fastify.inject({ method: 'GET', url: '/fails' });
    expect(res.statusCode).toBe(500);
  });

  it('takes one hook only', () => {
    expect(() => setEarlyRequestHook(fastify, () => undefined)).toThrow(/already set/);
  });
});
