import type { OpenApiOptions } from '@tidegate/platform';

export const GATEWAY_OPENAPI: OpenApiOptions = {
  title: 'Tidegate gateway',
  description: 'The public entry: admission, the waiting room and its JSON API for mobile apps.',
  apiKeys: false,
};
