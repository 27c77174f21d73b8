import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type z } from 'zod';
import { ConfigError, loadConfig } from './load-config';
import { gatewayEnvSchema, schedulerEnvSchema, wsEnvSchema } from './schemas';
import { startEnvSchema } from './start-schema';

const valid = {
  DATABASE_URL: 'postgresql://u@127.0.0.1:5432/tidegate',
  REDIS_URL: 'redis://127.0.0.1:6379',
  WAVE_TICKET_SECRET: 'w'.repeat(32),
};

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills defaults for a minimal valid environment', () => {
    const cfg = loadConfig(schedulerEnvSchema, valid);
    expect(cfg).toMatchObject({ SCHEDULER_PORT: 3000, SCHEDULER_ROLE: 'all', REDIS_KEY_PREFIX: 'tidegate', LOG_LEVEL: 'info' });
  });

  it('names the variable in a one-line message when a URL is malformed', () => {
    const err = errorOf(() => loadConfig(schedulerEnvSchema, { ...valid, REDIS_URL: 'not-a-url' }));
    expect(err.issues.map((i) => i.variable)).toEqual(['REDIS_URL']);
    expect(err.message).toMatch(/^invalid configuration: REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL$/);
    expect(err.message).not.toContain('\n');
  });

  it('reports every bad variable at once', () => {
    const err = errorOf(() => loadConfig(wsEnvSchema, { REDIS_URL: 'redis://x', WS_PORT: '99999', LOG_LEVEL: 'loud' }));
    expect(err.issues.map((i) => i.variable).sort()).toEqual([
      'ADMISSION_SIGNING_KEY',
      'DATABASE_URL',
      'LOG_LEVEL',
      'TICKET_SECRET',
      'WS_PORT',
    ]);
  });

  it.each([
    ['scheduler', schedulerEnvSchema],
    ['gateway', gatewayEnvSchema],
  ] as const)('the %s requires WAVE_TICKET_SECRET, 32 characters or more, in one line', (_app, schema) => {
    const admission = { TICKET_SECRET: 's'.repeat(32), ADMISSION_SIGNING_KEY: 'x' };
    const { WAVE_TICKET_SECRET: _secret, ...without } = valid;
    const missing = errorOf(() => loadConfig(schema, { ...without, ...admission }));
    expect(missing.issues.find((i) => i.variable === 'WAVE_TICKET_SECRET')?.message).toBe('required');
    const short = errorOf(() => loadConfig(schema, { ...valid, ...admission, WAVE_TICKET_SECRET: 'short' }));
    expect(short.message).toContain('WAVE_TICKET_SECRET: must have at least 32 characters');
    expect(short.message).not.toContain('\n');
  });

  it('requires one Redis, and refuses two', () => {
    expect(errorOf(() => loadConfig(schedulerEnvSchema, { DATABASE_URL: valid.DATABASE_URL })).message).toContain('REDIS_URL: required');
    const both = errorOf(() => loadConfig(schedulerEnvSchema, { ...valid, REDIS_CLUSTER_NODES: '127.0.0.1:7000' }));
    expect(both.issues[0]?.variable).toBe('REDIS_CLUSTER_NODES');
  });

  it('parses Cluster nodes and treats empty strings as unset', () => {
    const cfg = loadConfig(schedulerEnvSchema, {
      DATABASE_URL: valid.DATABASE_URL,
      WAVE_TICKET_SECRET: valid.WAVE_TICKET_SECRET,
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: '127.0.0.1:7000, 127.0.0.1:7001',
    });
    expect(cfg.REDIS_CLUSTER_NODES).toEqual(['127.0.0.1:7000', '127.0.0.1:7001']);
    expect(cfg.REDIS_URL).toBeUndefined();
    expect(
      errorOf(() => loadConfig(gatewayEnvSchema, { ...valid, REDIS_URL: undefined, REDIS_CLUSTER_NODES: 'nope' })).issues[0]?.variable,
    ).toBe('REDIS_CLUSTER_NODES');
  });

  it('refuses a key prefix with braces (hash tags belong to the key builder)', () => {
    expect(errorOf(() => loadConfig(schedulerEnvSchema, { ...valid, REDIS_KEY_PREFIX: '{x}' })).issues[0]?.variable).toBe(
      'REDIS_KEY_PREFIX',
    );
  });

  it('checks the bootstrap API key format', () => {
    expect(() => loadConfig(schedulerEnvSchema, { ...valid, BOOTSTRAP_API_KEY: 'secret' })).toThrow(/BOOTSTRAP_API_KEY: must look like/);
    const key = `tg_abcdEFGH_${'x'.repeat(40)}`;
    expect(loadConfig(schedulerEnvSchema, { ...valid, BOOTSTRAP_API_KEY: key }).BOOTSTRAP_API_KEY).toBe(key);
  });
});

describe('gateway admission settings', () => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const admission = { ...valid, TICKET_SECRET: 's'.repeat(32) };

  it('accepts the signing key with real newlines or with \\n escapes', () => {
    expect(loadConfig(gatewayEnvSchema, { ...admission, ADMISSION_SIGNING_KEY: pem }).ADMISSION_SIGNING_KEY).toBe(pem.trim());
    const oneLine = pem.trim().replace(/\n/g, '\\n');
    expect(loadConfig(gatewayEnvSchema, { ...admission, ADMISSION_SIGNING_KEY: oneLine }).ADMISSION_SIGNING_KEY).toBe(pem.trim());
  });

  it('names a short ticket secret and a key that is not PEM', () => {
    const err = errorOf(() => loadConfig(gatewayEnvSchema, { ...valid, TICKET_SECRET: 'short', ADMISSION_SIGNING_KEY: 'abc' }));
    expect(err.issues.map((i) => i.variable).sort()).toEqual(['ADMISSION_SIGNING_KEY', 'TICKET_SECRET']);
  });

  it('parses TRUST_PROXY as a flag, a hop count or a list of addresses', () => {
    const trust = (v?: string) => loadConfig(schedulerEnvSchema, { ...valid, TRUST_PROXY: v }).TRUST_PROXY;
    expect(trust()).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 127.0.0.1')).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });
});

describe('npm start settings', () => {
  it('takes the sink forward URL as an http(s) URL and names SINK_FORWARD_URL otherwise', () => {
    const cfg = loadConfig(schedulerEnvSchema, { ...valid, SINK_FORWARD_URL: 'http://127.0.0.1:4100/pushes' });
    expect(cfg).toMatchObject({ SINK_FORWARD_URL: 'http://127.0.0.1:4100/pushes', SINK_FORWARD_TIMEOUT_MS: 5000 });
    for (const bad of ['pushes', 'ftp://127.0.0.1/x']) {
      const err = errorOf(() => loadConfig(schedulerEnvSchema, { ...valid, SINK_FORWARD_URL: bad }));
      expect(err.message).toBe('invalid configuration: SINK_FORWARD_URL: must be an absolute http(s) URL');
    }
  });

  it('defaults the demo shop to port 3005 and names DEMO_ORIGIN_PORT when it is not a port', () => {
    expect(loadConfig(startEnvSchema, {}).DEMO_ORIGIN_PORT).toBe(3005);
    expect(loadConfig(startEnvSchema, { DEMO_ORIGIN_PORT: '4005' }).DEMO_ORIGIN_PORT).toBe(4005);
    for (const bad of ['0', '70000', 'shop', '80.5']) {
      expect(errorOf(() => loadConfig(startEnvSchema, { DEMO_ORIGIN_PORT: bad })).issues[0]?.variable).toBe('DEMO_ORIGIN_PORT');
    }
  });
});

describe('.env.example', () => {
  const documented = new Set(
    fs
      .readFileSync(path.join(__dirname, '../../../.env.example'), 'utf8')
      .split('\n')
      .map((line) => /^#?\s*([A-Z][A-Z0-9_]+)=/.exec(line)?.[1])
      .filter((v): v is string => Boolean(v)),
  );

  it.each([
    ['scheduler', schedulerEnvSchema],
    ['gateway', gatewayEnvSchema],
    ['ws', wsEnvSchema],
    ['npm start', startEnvSchema],
  ])('documents every variable of the %s schema', (_app, schema) => {
    const shape = (schema as unknown as z.ZodObject).shape;
    const missing = Object.keys(shape).filter((k) => !documented.has(k));
    expect(missing).toEqual([]);
  });
});
