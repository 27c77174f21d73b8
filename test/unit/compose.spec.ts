/**
 * Checks docker/compose.yml, alone and merged with docker/compose.cluster.yml, without Docker: each app's
 * environment (after `${VAR:-default}` substitution with an empty shell environment) must pass that app's real
 * config schema, its healthcheck must probe the port it listens on, and it must start after its dependencies.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { gatewayEnvSchema, loadConfig, schedulerEnvSchema, wsEnvSchema } from '@tidegate/config';

type Env = Record<string, string | undefined>;
type Scalar = string | number | boolean | null;

interface Service {
  build?: unknown;
  image?: string;
  command?: string | string[];
  environment?: Record<string, Scalar> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  ports?: Array<string | number | { target: number; published?: string | number }>;
  [key: string]: unknown;
}

interface Compose {
  services: Record<string, Service>;
  [key: string]: unknown;
}

const dockerDir = path.resolve(__dirname, '../../docker');

/** The shell a deployer runs compose from: only the variables compose.yml requires (`${VAR:?…}`) are set. */
const SHELL: Env = {
  TIDEGATE_TICKET_SECRET: 'compose-test-ticket-secret-0123456789abcdef',
  TIDEGATE_WAVE_TICKET_SECRET: 'compose-test-wave-ticket-secret-0123456789ab',
  // One line with \n escapes, as a .env file holds it; the config schema turns them back into newlines.
  TIDEGATE_ADMISSION_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString()
    .trim()
    .replace(/\n/g, '\\n'),
};

/** Each app service, how it loads its config (the real schema), and the port that config makes it listen on. */
const APPS: Record<string, (env: Env) => { port: number; redisCluster: boolean }> = {
  'scheduler-api': (env) => listening(loadConfig(schedulerEnvSchema, env), 'SCHEDULER_PORT'),
  'scheduler-worker': (env) => listening(loadConfig(schedulerEnvSchema, env), 'SCHEDULER_PORT'),
  gateway: (env) => listening(loadConfig(gatewayEnvSchema, env), 'GATEWAY_PORT'),
  ws: (env) => listening(loadConfig(wsEnvSchema, env), 'WS_PORT'),
};

function listening<C extends { REDIS_CLUSTER_NODES?: string[] }, K extends keyof C>(config: C, portKey: K) {
  return { port: Number(config[portKey]), redisCluster: config.REDIS_CLUSTER_NODES !== undefined };
}

// --- reading compose files the way Docker Compose does ------------------------------------------------------------

/**
 * Compose interpolation: `$$` is a literal `$`; `${VAR}`, `$VAR`, `${VAR:-default}` (unset or empty),
 * `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (required), `${VAR:+alt}` / `${VAR+alt}`.
 */
function interpolate(value: string, shell: Env): string {
  const pattern = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  return value.replace(pattern, (match, dollar?: string, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (dollar) return '$';
    const name = (braced ?? bare) as string;
    const raw = shell[name];
    const empty = raw === undefined || (op?.startsWith(':') === true && raw === '');
    switch (op?.replace(':', '')) {
      case undefined:
        return raw ?? '';
      case '-':
        return empty ? (arg ?? '') : raw;
      case '?':
        if (empty) throw new Error(`${match}: ${name} is required`);
        return raw;
      case '+':
        return empty ? '' : (arg ?? '');
      default:
        throw new Error(`cannot interpolate ${match}`);
    }
  });
}

/** Substitutes every string value; the result is a fresh tree (YAML aliases no longer share objects). */
function interpolateAll(node: unknown, shell: Env): unknown {
  if (typeof node === 'string') return interpolate(node, shell);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, shell));
  if (isMap(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, shell)]));
  return node;
}

function isMap(node: unknown): node is Record<string, unknown> {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

/** Parses a file of docker/ (with `<<` merge keys, as Compose allows) and interpolates it with the deployer's shell. */
function readCompose(file: string, shell: Env = SHELL): Compose {
  const doc: unknown = parse(fs.readFileSync(path.join(dockerDir, file), 'utf8'), { merge: true });
  const compose = interpolateAll(doc, shell) as Compose;
  if (!isMap(compose.services)) throw new Error(`${file} has no services`);
  return compose;
}

/** `environment` as a map; a variable without a value (`FOO` / `FOO:`) comes from the shell, which is empty here. */
function environmentOf(service: Service): Env {
  const env = service.environment ?? {};
  const entries: Array<[string, string | undefined]> = Array.isArray(env)
    ? env.map((item) => {
        const eq = item.indexOf('=');
        return eq < 0 ? [item, undefined] : [item.slice(0, eq), item.slice(eq + 1)];
      })
    : Object.entries(env).map(([k, v]) => [k, v === null ? undefined : String(v)]);
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
}

/** `depends_on` as a map of conditions (the short list form means `service_started`). */
function dependenciesOf(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition ?? 'service_started']));
}

/** Keys whose merge Compose does not do key by key or by replacement: this test does not model them. */
const UNMODELLED_MERGES = ['ports', 'expose', 'volumes', 'secrets', 'configs', 'dns', 'extra_hosts', 'labels', 'env_file'];

/**
 * `docker compose -f base -f override`: a service new in the override is added; for one in both, maps
 * (environment, depends_on, healthcheck, build) merge key by key and everything else is replaced.
 */
function mergeCompose(base: Compose, override: Compose): Compose {
  const services: Record<string, Service> = { ...base.services };
  for (const [name, over] of Object.entries(override.services)) {
    const unmodelled = Object.keys(over).filter((k) => UNMODELLED_MERGES.includes(k));
    if (unmodelled.length > 0) throw new Error(`${name}: the test does not model merging ${unmodelled.join(', ')}`);
    const current = services[name];
    services[name] = current ? (deepMerge(normalized(current), normalized(over)) as Service) : over;
  }
  return { ...base, services };
}

function normalized(service: Service): Service {
  const out: Service = { ...service };
  if (service.environment !== undefined) out.environment = environmentWithNulls(service);
  if (service.depends_on !== undefined) {
    out.depends_on = Object.fromEntries(Object.entries(dependenciesOf(service)).map(([k, condition]) => [k, { condition }]));
  }
  return out;
}

/** Like environmentOf, but keeps explicit empty strings and valueless entries (an override may set either). */
function environmentWithNulls(service: Service): Record<string, Scalar> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(
    env.map((item) => {
      const eq = item.indexOf('=');
      return eq < 0 ? [item, null] : [item.slice(0, eq), item.slice(eq + 1)];
    }),
  );
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (!isMap(a) || !isMap(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? deepMerge(a[k], v) : v;
  return out;
}

// --- the properties, as functions that throw, so they can also be run against broken copies ------------------------

function appServices(compose: Compose): Array<[string, Service]> {
  return Object.keys(APPS).map((name) => {
    const service = compose.services[name];
    if (!service) throw new Error(`no service ${name}`);
    return [name, service];
  });
}

/** Loads an app's config from its compose environment; names the service when the schema refuses it. */
function configOf(name: string, service: Service): { port: number; redisCluster: boolean } {
  const load = APPS[name];
  if (!load) throw new Error(`${name} is not an app`);
  try {
    return load(environmentOf(service));
  } catch (err) {
    throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function healthcheckTest(service: Service): string {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

function assertEveryServiceHasBuildOrImage(compose: Compose): void {
  for (const [name, service] of Object.entries(compose.services)) {
    expect({ name, hasBuildOrImage: service.build !== undefined || typeof service.image === 'string' }).toEqual({
      name,
      hasBuildOrImage: true,
    });
  }
}

function assertEveryServiceHasHealthcheck(compose: Compose): void {
  for (const [name, service] of Object.entries(compose.services)) {
    const test = service.healthcheck?.test;
    const first = Array.isArray(test) ? test[0] : test;
    expect({ name, disabled: service.healthcheck?.disable === true || first === 'NONE' }).toEqual({ name, disabled: false });
    expect({ name, test: healthcheckTest(service).trim().length > 0 }).toEqual({ name, test: true });
  }
}

function assertAppEnvironmentsPassTheirSchemas(compose: Compose): void {
  for (const [name, service] of appServices(compose)) configOf(name, service);
}

function assertAppsStartAfterTheirDependencies(compose: Compose): void {
  for (const [name, service] of appServices(compose)) {
    expect({ name, depends_on: dependenciesOf(service) }).toMatchObject({
      name,
      depends_on: { redis: 'service_healthy', postgres: 'service_healthy', migrate: 'service_completed_successfully' },
    });
  }
}

function assertHealthchecksProbeTheListeningPort(compose: Compose): void {
  for (const [name, service] of appServices(compose)) {
    const { port } = configOf(name, service);
    const probe = /https?:\/\/(?:127\.0\.0\.1|localhost):(\d+)\/health\/ready\b/.exec(healthcheckTest(service));
    expect({ name, probedPort: probe ? Number(probe[1]) : 'no /health/ready probe' }).toEqual({ name, probedPort: port });
  }
}

/** Container ports of `ports:` entries ("3000", "3000:3000", "127.0.0.1:3000:3000/tcp", or the long form). */
function containerPorts(service: Service): number[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') return Number(p.target);
    return Number(String(p).split('/')[0]?.split(':').pop());
  });
}

function assertAppsPublishTheirPort(compose: Compose): void {
  for (const [name, service] of appServices(compose)) {
    const { port } = configOf(name, service);
    expect({ name, containerPorts: containerPorts(service) }).toEqual({ name, containerPorts: [port] });
  }
}

// --- the tests ----------------------------------------------------------------------------------------------------

const standalone = (): Compose => readCompose('compose.yml');
const cluster = (): Compose => mergeCompose(readCompose('compose.yml'), readCompose('compose.cluster.yml'));

describe.each([
  ['docker/compose.yml', standalone],
  ['docker/compose.yml + docker/compose.cluster.yml', cluster],
])('%s', (_file, load) => {
  const compose = load();

  it('runs every app: scheduler-api, scheduler-worker, gateway and ws', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(Object.keys(APPS)));
  });

  it('gives every service a build or an image', () => {
    assertEveryServiceHasBuildOrImage(compose);
  });

  it('gives every service a healthcheck with a test', () => {
    assertEveryServiceHasHealthcheck(compose);
  });

  it("gives every app an environment that passes the app's config schema", () => {
    assertAppEnvironmentsPassTheirSchemas(compose);
  });

  it('starts every app after redis and postgres are healthy and migrate has succeeded', () => {
    assertAppsStartAfterTheirDependencies(compose);
  });

  it("probes each app's /health/ready on the port its config makes it listen on", () => {
    assertHealthchecksProbeTheListeningPort(compose);
  });

  it('publishes the port each app listens on', () => {
    assertAppsPublishTheirPort(compose);
  });

  it('only depends on services that exist', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const missing = Object.keys(dependenciesOf(service)).filter((dep) => !(dep in compose.services));
      expect({ name, missing }).toEqual({ name, missing: [] });
    }
  });

  it('migrates, once postgres is healthy, the database the apps use', () => {
    const migrate = compose.services.migrate;
    expect(migrate?.command).toEqual(['node', 'tools/db.js', 'migrate']);
    expect(dependenciesOf(migrate ?? {})).toEqual({ postgres: 'service_healthy' });
    for (const [name, service] of appServices(compose)) {
      expect({ name, url: environmentOf(service).DATABASE_URL }).toEqual({ name, url: environmentOf(migrate ?? {}).DATABASE_URL });
    }
  });

  it('runs the scheduler as api and as worker', () => {
    expect(compose.services['scheduler-api']?.command).toContain('--role=api');
    expect(compose.services['scheduler-worker']?.command).toContain('--role=worker');
  });
});

describe('docker/compose.yml', () => {
  it('connects the apps to the standalone redis', () => {
    for (const [name, service] of appServices(standalone())) {
      expect({ name, REDIS_URL: environmentOf(service).REDIS_URL, cluster: configOf(name, service).redisCluster }).toEqual({
        name,
        REDIS_URL: 'redis://redis:6379',
        cluster: false,
      });
    }
  });

  it('leaves BOOTSTRAP_API_KEY unset when TIDEGATE_BOOTSTRAP_API_KEY is not in the shell', () => {
    expect(environmentOf(standalone().services['scheduler-api'] ?? {}).BOOTSTRAP_API_KEY ?? '').toBe('');
  });
});

/** A service's command as one line. */
function commandText(service: Service | undefined): string {
  const command = service?.command;
  return Array.isArray(command) ? command.join(' ') : (command ?? '');
}

describe('docker/compose.yml as the demo on one machine', () => {
  const compose = standalone();

  it('keeps Redis in an append-only file, fsynced every second, on a named volume', () => {
    const redis = compose.services.redis;
    expect(commandText(redis)).toMatch(/^redis-server .*--appendonly yes/);
    expect(commandText(redis)).toContain('--appendfsync everysec');
    const mounts = ((redis?.volumes ?? []) as unknown[]).map((v) => String(v).split(':'));
    const data = mounts.find(([, target]) => target === '/data')?.[0] ?? 'nothing on /data';
    expect(data).toMatch(/^[a-z][a-z0-9_-]*$/); // a volume's name, not a host path
    expect(Object.keys((compose.volumes ?? {}) as Record<string, unknown>)).toContain(data);
  });

  it('sends pushes to the sink unless TIDEGATE_PUSH_SINK=false', () => {
    const sink = (c: Compose) => loadConfig(schedulerEnvSchema, environmentOf(c.services['scheduler-worker'] ?? {})).PUSH_SINK;
    expect(sink(compose)).toBe(true);
    expect(sink(readCompose('compose.yml', { ...SHELL, TIDEGATE_PUSH_SINK: 'false' }))).toBe(false);
  });

  it('gives the gateway cookies that work over plain HTTP (not Secure) unless TIDEGATE_COOKIE_SECURE=true', () => {
    const secure = (c: Compose) => loadConfig(gatewayEnvSchema, environmentOf(c.services.gateway ?? {})).COOKIE_SECURE;
    expect(environmentOf(compose.services.gateway ?? {}).NODE_ENV).toBe('production'); // which alone would make them Secure
    expect(secure(compose)).toBe(false);
    expect(secure(readCompose('compose.yml', { ...SHELL, TIDEGATE_COOKIE_SECURE: 'true' }))).toBe(true);
  });
});

describe('docker/compose.cluster.yml over docker/compose.yml', () => {
  const compose = cluster();
  const redisNodes = ['redis', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'];

  it('runs six Redis nodes in cluster mode', () => {
    for (const node of redisNodes) {
      const command = compose.services[node]?.command;
      const text = Array.isArray(command) ? command.join(' ') : String(command);
      expect(`${node}: ${text}`).toContain('--cluster-enabled yes');
    }
  });

  it("keeps every node in an append-only file, none in the standalone server's files on the shared volume", () => {
    for (const node of redisNodes) {
      const text = `${node}: ${commandText(compose.services[node])}`;
      expect(text).toContain('--appendonly yes');
      expect(text).toContain('--appendfsync everysec');
      expect(text).toMatch(/--appenddirname (?!appendonlydir\b)\S+/);
      expect(text).toMatch(/--dbfilename (?!dump\.rdb\b)\S+/);
    }
  });

  it('creates the cluster from all six nodes with one replica per master, after they are healthy', () => {
    const init = compose.services['redis-cluster-init'] ?? {};
    const script = Array.isArray(init.command) ? init.command.join(' ') : (init.command ?? '');
    expect(script).toMatch(/redis-cli --cluster create /);
    expect(script).toContain('--cluster-replicas 1');
    for (const node of redisNodes) expect(script).toContain(` ${node}:6379`);
    expect(dependenciesOf(init)).toEqual(Object.fromEntries(redisNodes.map((n) => [n, 'service_healthy'])));
  });

  it('starts every app after the cluster has been created', () => {
    for (const [name, service] of appServices(compose)) {
      expect({ name, init: dependenciesOf(service)['redis-cluster-init'] }).toEqual({ name, init: 'service_completed_successfully' });
    }
  });

  it('connects the apps to the cluster (REDIS_CLUSTER_NODES) and unsets REDIS_URL', () => {
    for (const [name, service] of appServices(compose)) {
      const env = environmentOf(service);
      expect({ name, REDIS_URL: env.REDIS_URL, cluster: configOf(name, service).redisCluster }).toEqual({
        name,
        REDIS_URL: '',
        cluster: true,
      });
      for (const node of (env.REDIS_CLUSTER_NODES ?? '').split(',')) {
        expect({ name, node, known: (node.split(':')[0] ?? '') in compose.services }).toEqual({ name, node, known: true });
      }
    }
  });
});

describe('the checks catch a broken compose file (on copies in memory)', () => {
  const broken = (load: () => Compose, breakIt: (c: Compose) => void): Compose => {
    const copy = structuredClone(load());
    breakIt(copy);
    return copy;
  };
  const env = (c: Compose, service: string) => c.services[service]?.environment as Record<string, Scalar>;

  it('an app without DATABASE_URL fails its schema', () => {
    const c = broken(standalone, (x) => delete env(x, 'scheduler-worker').DATABASE_URL);
    expect(() => assertAppEnvironmentsPassTheirSchemas(c)).toThrow(/scheduler-worker: .*DATABASE_URL/);
  });

  it('an app given both REDIS_URL and REDIS_CLUSTER_NODES fails its schema', () => {
    const c = broken(cluster, (x) => (env(x, 'gateway').REDIS_URL = 'redis://redis:6379'));
    expect(() => assertAppEnvironmentsPassTheirSchemas(c)).toThrow(/gateway: .*REDIS_CLUSTER_NODES/);
  });

  it('the cluster override without REDIS_URL: "" fails the schema', () => {
    const override = readCompose('compose.cluster.yml');
    delete env(override, 'ws').REDIS_URL;
    expect(() => assertAppEnvironmentsPassTheirSchemas(mergeCompose(readCompose('compose.yml'), override))).toThrow(/ws: /);
  });

  it('a healthcheck probing another port than the app listens on fails', () => {
    const c = broken(standalone, (x) => (env(x, 'gateway').GATEWAY_PORT = '4001'));
    expect(() => assertHealthchecksProbeTheListeningPort(c)).toThrow();
  });

  it('a service without a healthcheck fails', () => {
    const c = broken(cluster, (x) => delete x.services['redis-4']?.healthcheck);
    expect(() => assertEveryServiceHasHealthcheck(c)).toThrow();
  });

  it('an app that does not wait for migrate fails', () => {
    const c = broken(standalone, (x) => delete (x.services.ws?.depends_on as Record<string, unknown>).migrate);
    expect(() => assertAppsStartAfterTheirDependencies(c)).toThrow();
  });

  it('refuses to start without the admission and wave ticket secrets in the shell', () => {
    const doc = parse(fs.readFileSync(path.join(dockerDir, 'compose.yml'), 'utf8')) as unknown;
    expect(() => interpolateAll(doc, {})).toThrow(/TIDEGATE_(WAVE_)?TICKET_SECRET is required|TIDEGATE_ADMISSION_SIGNING_KEY is required/);
  });

  it('an unset ${VAR:-default} takes its default and an unset ${VAR} is empty', () => {
    expect(interpolate('a${X:-b}c${Y}d$${Z}', {})).toBe('abcd${Z}');
    expect(interpolate('${X:-b}/${X-b}', { X: '' })).toBe('b/');
  });
});
