import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { MetricsController, MetricsRegistry } from '@tidegate/observability';
import { Logger } from 'nestjs-pino';
import { buildOpenApiDocument, type OpenApiOptions } from './openapi';

export interface InternalServerOptions {
  /** Interface to listen on (INTERNAL_HOST). */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The public app's OpenAPI description, served at /docs and /docs/json here (and not on the public port). */
  openApi?: OpenApiOptions;
}

export interface InternalServer {
  /** `http://<host>:<port>` (loopback when the host is every interface). */
  url: string;
  port: number;
}

/** Only the scrape route, over the public app's registry (handed over as a value: nothing else is shared). */
@Module({})
class InternalModule {
  static forRoot(registry: MetricsRegistry): DynamicModule {
    return { module: InternalModule, controllers: [MetricsController], providers: [{ provide: MetricsRegistry, useValue: registry }] };
  }
}

/**
 * The internal listener of a public-facing app (gateway, ws): Prometheus metrics at /metrics and, with `openApi`, the
 * public app's OpenAPI docs at /docs and /docs/json, on a port of its own that is never published. It is a second,
 * tiny Nest app on Fastify (no guard, no throttle, no gate: only those routes; anything else is 404), logs through the
 * public app's logger, and closes when the public app closes. Call it before `app.listen` (the close is tied to the
 * public server's Fastify instance, which takes hooks only before it starts).
 */
export async function serveInternal(app: NestFastifyApplication, options: InternalServerOptions): Promise<InternalServer> {
  const internal = await NestFactory.create<NestFastifyApplication>(
    InternalModule.forRoot(app.get(MetricsRegistry)),
    new FastifyAdapter(),
    {
      bufferLogs: true,
    },
  );
  internal.useLogger(app.get(Logger));
  const openApi = options.openApi;
  if (openApi) {
    SwaggerModule.setup('docs', internal, () => buildOpenApiDocument(app, openApi), { jsonDocumentUrl: 'docs/json' });
  }
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onClose', () => internal.close());
  await internal.listen(options.port, options.host);
  const address = internal.getHttpServer().address();
  if (!address || typeof address === 'string') throw new Error('the internal server is not listening on a TCP port');
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  app.get(Logger).log(`internal listener (${openApi ? '/metrics, /docs' : '/metrics'}) on ${url}`, 'InternalServer');
  return { url, port: address.port };
}
