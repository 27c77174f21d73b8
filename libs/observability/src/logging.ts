import type { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';

export interface LoggingOptions {
  app: string;
  level: string;
  /** Log one line per HTTP request. Off for the gateway's hot path, where metrics count requests instead. */
  requests: boolean;
}

/** Structured JSON logs (pino) on stdout, one object per line, with the app's name on every line. */
export function loggingModule(options: LoggingOptions): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      level: options.level,
      base: { app: options.app },
      autoLogging: options.requests,
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], censor: '[redacted]' },
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, url: req.url }),
      },
    },
  });
}
