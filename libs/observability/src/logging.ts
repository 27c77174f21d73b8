import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';

export interface LoggingOptions {
  app: string;
  level: string;
  /** Log one line per HTTP request. Off for the gateway's hot path, where metrics count requests instead. */
  requests: boolean;
}

/**
 * Structured JSON logs (pino) on stdout, one object per line, with the app's name on every line. A request line holds
 * the method, the URL and the status: no header of the request or the response (keys, cookies, tokens), nor a body.
 */
export function loggingModule(options: LoggingOptions): DynamicModule {
  return LoggerModule.forRoot({
    // nestjs-pino's default route (`{/*splat}`) matches nothing on Nest 12's Fastify adapter: no request was logged.
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      level: options.level,
      base: { app: options.app },
      autoLogging: options.requests,
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], censor: '[redacted]' },
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  });
}
