/** The block `npm start` prints once everything is ready: where things are, the demo ids, the key, and what to try. */
import type { RunningApp } from './apps';

export interface SummaryInput {
  apps: RunningApp[];
  postgres: string;
  redis: string;
  roomId: string;
  demoShop: string;
  campaignId: string;
  /** Where the workers send: the sink, or the providers configured. */
  push: string;
  apiKey: string;
  apiKeySource: string;
  readyMs: number;
  check: boolean;
}

export function summary(input: SummaryInput): string {
  const url = (name: string) => input.apps.find((a) => a.spec.name === name)?.baseUrl ?? '?';
  const internalUrl = (name: string) => input.apps.find((a) => a.spec.name === name)?.internalUrl ?? '?';
  const scheduler = url('scheduler');
  const gateway = url('gateway');
  const ws = url('ws');
  const rule = '─'.repeat(78);
  const row = (label: string, value: string) => `  ${label.padEnd(20)} ${value}`;
  const lines = [
    '',
    rule,
    `  Tidegate is running (ready in ${(input.readyMs / 1000).toFixed(1)} s)`,
    rule,
    row('Admin API', `${scheduler}   docs: ${scheduler}/docs`),
    row('Gateway', `${gateway}   docs: ${internalUrl('gateway')}/docs (internal port)`),
    row('WebSocket', `${ws.replace(/^http/, 'ws')}  (socket.io, path /socket.io)`),
    row('Health', input.apps.map((a) => `${a.baseUrl}/health/ready`).join('\n' + ' '.repeat(23))),
    row('Metrics', input.apps.map((a) => `${a.internalUrl}/metrics`).join('\n' + ' '.repeat(23))),
    row('PostgreSQL', input.postgres),
    row('Redis', input.redis),
    '',
    row('Demo room', `${input.roomId}: the gateway protects every path of the demo shop (${input.demoShop})`),
    row('Demo campaign', `${input.campaignId}: 3,000 demo devices, waves of 500 every 10 s, paced by the demo room`),
    row('Push providers', input.push),
    row('Bootstrap API key', `${input.apiKey}`),
    row('', `(role sre; ${input.apiKeySource})`),
    '',
    '  Try:',
    `    curl -H "X-API-Key: ${input.apiKey}" ${scheduler}/admin/whoami`,
    `    curl -H "X-API-Key: ${input.apiKey}" ${scheduler}/admin/rooms/${input.roomId}/status`,
    `    open ${gateway}/ in a browser: you are admitted to the demo shop (the room holds 3 people)`,
    `    for i in 1 2 3 4 5; do curl -s -H 'accept: application/json' ${gateway}/; echo; done   # then you wait in line`,
    `    curl -X POST -H "X-API-Key: ${input.apiKey}" ${scheduler}/admin/campaigns/${input.campaignId}/start   # send the demo campaign`,
    `    curl -H "X-API-Key: ${input.apiKey}" ${scheduler}/admin/campaigns/${input.campaignId}/stats          # its waves and counters`,
    `    open ${scheduler}/admin/board in a browser (any user name, the key as password): the queues`,
    '',
    input.check ? '  --check: everything answered; stopping now.' : '  Press Ctrl-C to stop everything.',
    rule,
    '',
  ];
  return lines.join('\n');
}
