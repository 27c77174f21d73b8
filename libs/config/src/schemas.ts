/**
 * Environment schemas, one per app, built from shared pieces. Every variable is documented in .env.example;
 * a unit test keeps the two in step.
 */
import { z } from 'zod';

const redisUrl = z.string().refine((v) => /^rediss?:\/\/[^\s]+$/.test(v) && URL.canParse(v), 'must be a redis:// or rediss:// URL');

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;
const clusterNodes = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine((nodes) => nodes.length > 0 && nodes.every((n) => hostPort.test(n)), 'must be a comma-separated list of host:port');

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && URL.canParse(v), 'must be a postgres:// or postgresql:// URL');

const port = (fallback: number) => z.coerce.number().int('must be an integer').min(0).max(65535).default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int('must be an integer').positive('must be > 0').default(fallback);

const common = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_SIZE: positiveInt(10),
  REDIS_URL: redisUrl.optional(),
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:.-]+$/, 'may contain only letters, digits and _ : . - (no braces: hash tags are added by the key builder)')
    .default('tidegate'),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
  /**
   * Which proxies in front may set X-Forwarded-For (the client address used for throttling and logs): `false` (none,
   * the default), `true` (any: only behind a proxy that overwrites the header), a hop count, or addresses/CIDRs.
   */
  TRUST_PROXY: z
    .string()
    .transform((v): boolean | number | string[] => {
      if (v === 'true' || v === 'false') return v === 'true';
      if (/^\d+$/.test(v)) return Number(v);
      return v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    })
    .default(false),
};

type RedisFields = { REDIS_URL?: string; REDIS_CLUSTER_NODES?: string[] };
/** Runs even when other variables are invalid (`when`), so one boot reports every problem. */
function exactlyOneRedis(cfg: RedisFields, ctx: z.RefinementCtx) {
  if (!cfg.REDIS_URL && !cfg.REDIS_CLUSTER_NODES) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'required (or set REDIS_CLUSTER_NODES)' });
  }
  if (cfg.REDIS_URL && cfg.REDIS_CLUSTER_NODES) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'set either REDIS_URL or REDIS_CLUSTER_NODES, not both' });
  }
}

const optionalUrl = z.string().url('must be an absolute URL').optional();
const booleanFlag = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * Campaign sending (the scheduler's workers): concurrency, the providers' credentials and endpoints, timers. A
 * provider without credentials is not configured: its devices' messages are recorded as failed (and the error-rate
 * guard pauses the campaign), unless PUSH_SINK sends everything to the sink.
 */
const dispatch = {
  /** Send jobs (batches) one worker process runs at once. */
  SEND_CONCURRENCY: positiveInt(4),
  /**
   * Worker threads that sign the wave tickets (two SHA-256 blocks per recipient, about half a millisecond of CPU per
   * batch of 500), beside the event loop that reads, sends and records. 0 signs on the event loop.
   */
  WAVE_TICKET_THREADS: z.coerce.number().int('must be an integer').min(0, 'must be 0 or more').max(16, 'must be at most 16').default(1),
  /**
   * Dispatch partitions a new campaign is split into (its ledger, counters and send jobs; docs/dispatch.md,
   * "Partitions"), and the send queues: on Redis Cluster each partition's keys sit in their own slot, spread over the
   * masters. Pinned per campaign when its first wave is planned. Unset: see `dispatchPartitions` (partitions.ts):
   * 12 on Cluster (splits evenly over 1, 2, 3, 4 or 6 masters), 1 on a single Redis server, 12 send queues either way.
   */
  DISPATCH_PARTITIONS: z.coerce.number().int('must be an integer').positive('must be > 0').max(256, 'must be at most 256').optional(),
  /**
   * Consecutive device ids per block of a new campaign's partitions (pinned with the count): block k goes to partition
   * k mod DISPATCH_PARTITIONS, so a batch of a dense audience is one or two runs of consecutive ids, read from
   * PostgreSQL as id ranges. Smaller blocks spread a small campaign over more partitions; 1 is the layout by single
   * ids (partition = id mod DISPATCH_PARTITIONS), whose batches are read id by id.
   */
  DISPATCH_PARTITION_BLOCK: positiveInt(1024).pipe(z.number().max(1_048_576, 'must be at most 1048576')),
  /** Every platform goes to the sink provider (demos, benchmarks): nothing leaves the machine. */
  PUSH_SINK: booleanFlag.default(false),
  /**
   * With PUSH_SINK: the sink POSTs each batch's messages (device, platform, wave ticket, deep link, sent-at) as JSON to
   * this URL (the surge simulator's phones, a demo); a failed forward is logged and the messages still count as sent.
   */
  SINK_FORWARD_URL: z
    .string()
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an absolute http(s) URL')
    .optional(),
  /** Bound of one forward request, ms. */
  SINK_FORWARD_TIMEOUT_MS: positiveInt(5000),
  /** Per request to a provider, ms. */
  PUSH_TIMEOUT_MS: positiveInt(10_000),
  /** Extra trusted CA certificates (PEM file) for provider endpoints: a proxy's, or a local fake's. */
  PUSH_CA_FILE: z.string().min(1).optional(),
  /** FCM: the service-account JSON key, as text or as a file path (one of the two). */
  FCM_SERVICE_ACCOUNT: z.string().min(1).optional(),
  FCM_SERVICE_ACCOUNT_FILE: z.string().min(1).optional(),
  FCM_PROJECT_ID: z.string().min(1).optional(),
  /** Default https://fcm.googleapis.com. */
  FCM_ENDPOINT: optionalUrl,
  /** APNs token auth: the .p8 key (PEM, `\n` escapes allowed), its key id, the team id and the app's bundle id. */
  APNS_KEY: z.string().min(1).optional(),
  APNS_KEY_ID: z.string().min(1).optional(),
  APNS_TEAM_ID: z.string().min(1).optional(),
  APNS_TOPIC: z.string().min(1).optional(),
  /** Default production (https://api.push.apple.com); https://api.sandbox.push.apple.com for development builds. */
  APNS_ENDPOINT: optionalUrl,
  /** Web Push VAPID keys (base64url, as `npx web-push generate-vapid-keys` prints) and the contact (mailto: or https:). */
  VAPID_PUBLIC_KEY: z.string().min(1).optional(),
  VAPID_PRIVATE_KEY: z.string().min(1).optional(),
  VAPID_SUBJECT: z
    .string()
    .refine((v) => /^mailto:.+@.+/.test(v) || v.startsWith('https://'), 'must be a mailto: address or an https: URL')
    .optional(),
  /** Accept http:// subscription endpoints (local fakes only; real push services are https). */
  WEBPUSH_ALLOW_HTTP: booleanFlag.default(false),
  /** How often counters are written from Redis to PostgreSQL (write-behind), ms. */
  STATS_FLUSH_MS: positiveInt(2000),
  /** How often workers look for scheduled campaigns whose start time has come, ms. */
  DISPATCH_TICK_MS: positiveInt(1000),
  /**
   * A running campaign that made no progress for this long (ms) and has no job queued (its jobs used up their
   * attempts during an outage, or Redis lost them) is re-driven from its PostgreSQL checkpoints.
   */
  DISPATCH_REDRIVE_MS: positiveInt(60_000),
  /** How often the pacing controller decides each running campaign's pace, ms. */
  PACING_TICK_MS: positiveInt(1000),
  /**
   * A job's lock, ms (BullMQ lockDuration and stalled-check interval): a worker that dies mid-batch has its jobs
   * taken over within one to two of these. Shorter finds crashes sooner but a worker blocked that long loses its job.
   */
  JOB_LOCK_MS: positiveInt(30_000),
};

type ProviderFields = { [K in keyof typeof dispatch]?: unknown };
/** A provider is configured with all of its settings or none. */
function pushProviders(cfg: ProviderFields, ctx: z.RefinementCtx): void {
  if (cfg.FCM_SERVICE_ACCOUNT && cfg.FCM_SERVICE_ACCOUNT_FILE) {
    ctx.addIssue({
      code: 'custom',
      path: ['FCM_SERVICE_ACCOUNT_FILE'],
      message: 'set either FCM_SERVICE_ACCOUNT or FCM_SERVICE_ACCOUNT_FILE, not both',
    });
  }
  const groups: Array<[string, Array<keyof ProviderFields>]> = [
    ['APNs', ['APNS_KEY', 'APNS_KEY_ID', 'APNS_TEAM_ID', 'APNS_TOPIC']],
    ['Web Push', ['VAPID_PUBLIC_KEY', 'VAPID_PRIVATE_KEY', 'VAPID_SUBJECT']],
  ];
  for (const [name, fields] of groups) {
    const set = fields.filter((f) => cfg[f] !== undefined);
    if (set.length > 0 && set.length < fields.length) {
      for (const f of fields.filter((f) => cfg[f] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [f], message: `required with ${set.join(', ')} (${name} needs all of ${fields.join(', ')})` });
      }
    }
  }
}

/**
 * HMAC key of wave tickets: the scheduler signs one into every push, the gateway checks them (docs/admission.md,
 * "Wave tickets"). The same on every scheduler and gateway process; not the TICKET_SECRET.
 */
const waveTicketSecret = z.string().min(32, 'must have at least 32 characters (openssl rand -base64 32 makes one)');

export const SCHEDULER_ROLES = ['api', 'worker', 'all'] as const;
export type SchedulerRole = (typeof SCHEDULER_ROLES)[number];

export const schedulerEnvSchema = z
  .object({
    ...common,
    SCHEDULER_PORT: port(3000),
    SCHEDULER_ROLE: z.enum(SCHEDULER_ROLES).default('all'),
    BOOTSTRAP_API_KEY: z
      .string()
      .regex(
        /^tg_[A-Za-z0-9]{8}_[A-Za-z0-9]{32,128}$/,
        'must look like tg_<8 letters or digits>_<32 to 128 letters or digits> (`npm run apikey -- generate` makes one)',
      )
      .optional(),
    ...dispatch,
    WAVE_TICKET_SECRET: waveTicketSecret,
  })
  .superRefine(exactlyOneRedis, { when: () => true })
  .superRefine(pushProviders);

/** PEM in an environment variable: real newlines, or `\n` escapes as one-line env files need. */
const pemPrivateKey = z
  .string()
  .transform((v) => v.replace(/\\n/g, '\n').trim())
  .refine(
    (v) => /^-----BEGIN (EC )?PRIVATE KEY-----\n[\s\S]+\n-----END (EC )?PRIVATE KEY-----$/.test(v),
    'must be a PEM private key (PKCS#8, EC P-256)',
  );

/**
 * The internal listener of the public-facing apps (gateway, ws): /metrics (and the gateway's /docs) on a port of its
 * own, never the public one. Loopback by default; in a container set 0.0.0.0 and do not publish the port.
 */
const internalHost = { INTERNAL_HOST: z.string().min(1).default('127.0.0.1') };

/** Shared by the apps that issue or check tickets and admission tokens (gateway, ws). */
const admission = {
  /** HMAC key of tickets; the same on every gateway and ws process. */
  TICKET_SECRET: z.string().min(32, 'must have at least 32 characters'),
  /** ES256 key that signs admission tokens; its public half is served at /.well-known/jwks.json. */
  ADMISSION_SIGNING_KEY: pemPrivateKey,
  /** A waiting ticket not seen for between one and two of these is skipped when its turn comes. */
  TICKET_GRACE_SECONDS: positiveInt(60),
};

export const gatewayEnvSchema = z
  .object({
    ...common,
    ...admission,
    GATEWAY_PORT: port(3001),
    /** The internal listener's port (/metrics, /docs); 0 picks a free one. */
    GATEWAY_INTERNAL_PORT: port(9464),
    ...internalHost,
    WAVE_TICKET_SECRET: waveTicketSecret,
    /** Where waiting clients open their socket (the ws app), as the JSON API tells them. */
    WS_PUBLIC_URL: z.string().url('must be an absolute URL').optional(),
    /** How often each room's line is advanced. */
    RELEASE_INTERVAL_MS: positiveInt(250),
    /** How often the rooms' version is checked for changed settings. */
    ROOMS_REFRESH_MS: positiveInt(500),
    THROTTLE_LIMIT: positiveInt(60),
    THROTTLE_WINDOW_SECONDS: positiveInt(10),
    THROTTLE_BLOCK_SECONDS: z.coerce.number().int('must be an integer').min(0).default(0),
    /** Secure cookies (HTTPS only). Defaults to true when NODE_ENV=production. */
    COOKIE_SECURE: booleanFlag.optional(),
  })
  .superRefine(exactlyOneRedis, { when: () => true });

export const wsEnvSchema = z
  .object({
    ...common,
    ...admission,
    WS_PORT: port(3002),
    /** The internal listener's port (/metrics); 0 picks a free one. */
    WS_INTERNAL_PORT: port(9465),
    ...internalHost,
    WS_CORS_ORIGINS: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .default(['*']),
    /** How often the ws app looks at each room's line (positions, admissions). */
    WS_TICK_MS: positiveInt(500),
    /** The least time between two position updates to one socket. */
    WS_POSITION_INTERVAL_MS: positiveInt(1000),
    /**
     * Sockets one ws process accepts before refusing handshakes (`server_full`, so clients fall back to polling or
     * another process). Keep it below the process's open-file limit. Unset: no cap.
     */
    WS_MAX_SOCKETS: z.coerce.number().int('must be an integer').positive('must be > 0').optional(),
    /**
     * Per-socket event limits, a token bucket per socket and event kind: events of one kind a socket may send per
     * second (sustained) and at once (burst). Over the limit an event is dropped and the socket told (`rateLimited.v1`).
     */
    WS_EVENTS_PER_SECOND: z.coerce.number().positive('must be > 0').default(2),
    WS_EVENT_BURST: positiveInt(10),
    /** Events dropped in a row (none accepted between) after which the socket is disconnected for flooding. */
    WS_EVENT_FLOOD_LIMIT: positiveInt(50),
  })
  .superRefine(exactlyOneRedis, { when: () => true });

export type SchedulerConfig = z.infer<typeof schedulerEnvSchema>;
export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;
export type WsConfig = z.infer<typeof wsEnvSchema>;
/** What every app's config has in common. */
export type CommonConfig = SchedulerConfig | GatewayConfig | WsConfig;
