import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

export interface OpenApiOptions {
  title: string;
  description: string;
  /** Whether the app's routes take an admin API key. */
  apiKeys: boolean;
}

/** Builds the app's OpenAPI document (also used by `npm run openapi` to write openapi/<app>.json). */
export function buildOpenApiDocument(app: INestApplication, options: OpenApiOptions): OpenAPIObject {
  let builder = new DocumentBuilder().setTitle(options.title).setDescription(options.description).setVersion('0.1.0');
  if (options.apiKeys) {
    builder = builder.addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Admin API key (or Authorization: Bearer <key>)' },
      'api-key',
    );
  }
  return SwaggerModule.createDocument(app, builder.build());
}

export function setupOpenApi(app: INestApplication, options: OpenApiOptions): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app, options), { jsonDocumentUrl: 'docs/json' });
}
