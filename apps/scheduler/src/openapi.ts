import type { OpenApiOptions } from '@tidegate/platform';

export const SCHEDULER_OPENAPI: OpenApiOptions = {
  title: 'Tidegate scheduler admin API',
  description: 'Campaigns, audiences, devices, rooms and API keys. Every route needs an API key with the role it names.',
  apiKeys: true,
};
