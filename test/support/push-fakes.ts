/**
 * The three providers' fakes on loopback, the scheduler environment that points the real adapters at them, and a
 * device table seeded to match (FCM tokens, APNs tokens, Web Push subscriptions the fake can decrypt for). Inserted
 * straight into PostgreSQL: the devices API refuses loopback Web Push endpoints (its SSRF guard), rightly.
 */
import webpush from 'web-push';
import type { PrismaService } from '@tidegate/database';
import { FakeApns, FakeFcm, FakeWebPush } from '../fakes';
import { redisEnv, waveTicketEnv } from './env';
import { freePort, httpStatus, spawnApp, waitFor, type Proc } from './processes';

export interface PushFakes {
  fcm: FakeFcm;
  apns: FakeApns;
  webpush: FakeWebPush;
  /** Scheduler environment variables for the real adapters, pointed at the fakes. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startPushFakes(): Promise<PushFakes> {
  const [fcm, apns, wp] = await Promise.all([FakeFcm.start({ maxConcurrentStreams: 200 }), FakeApns.start(), FakeWebPush.start()]);
  const vapid = webpush.generateVAPIDKeys();
  return {
    fcm,
    apns,
    webpush: wp,
    env: {
      FCM_SERVICE_ACCOUNT: JSON.stringify(fcm.serviceAccount),
      FCM_ENDPOINT: fcm.endpoint,
      APNS_KEY: apns.signingKey,
      APNS_KEY_ID: apns.keyId,
      APNS_TEAM_ID: apns.teamId,
      APNS_TOPIC: apns.topic,
      APNS_ENDPOINT: apns.endpoint,
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:ops@tidegate.test',
      WEBPUSH_ALLOW_HTTP: 'true',
    },
    close: async () => {
      await Promise.all([fcm.close(), apns.close(), wp.close()]);
    },
  };
}

export interface SeededDevice {
  id: string;
  platform: 'fcm' | 'apns' | 'webpush';
  /** The FCM or APNs token, or the Web Push subscription id (the fake's key for it). */
  key: string;
  timezone: string;
}

/**
 * Inserts `count` devices, platforms in turn (fcm, apns, webpush), tagged `tags`, in zones picked in turn from
 * `timezones`. Returns them in id order.
 */
export async function seedDevices(
  prisma: PrismaService,
  fakes: PushFakes,
  count: number,
  options: { tags?: string[]; timezones?: string[] } = {},
): Promise<SeededDevice[]> {
  const platforms = ['fcm', 'apns', 'webpush'] as const;
  const zones = options.timezones ?? ['UTC'];
  const rows: Array<{
    platform: (typeof platforms)[number];
    token: string;
    p256dh: string | null;
    auth: string | null;
    key: string;
    timezone: string;
  }> = [];
  for (let i = 0; i < count; i++) {
    const platform = platforms[i % 3] as (typeof platforms)[number];
    const timezone = zones[i % zones.length] as string;
    if (platform === 'webpush') {
      const sub = fakes.webpush.subscribe();
      rows.push({ platform, token: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth, key: sub.id, timezone });
    } else {
      const token = platform === 'apns' ? FakeApns.deviceToken() : `fcm-${i}-${Math.random().toString(36).slice(2)}`;
      rows.push({ platform, token, p256dh: null, auth: null, key: token, timezone });
    }
  }
  for (let i = 0; i < rows.length; i += 5000) {
    await prisma.device.createMany({
      data: rows.slice(i, i + 5000).map((r) => ({
        platform: r.platform,
        token: r.token,
        p256dh: r.p256dh,
        auth: r.auth,
        timezone: r.timezone,
        tags: options.tags ?? [],
      })),
    });
  }
  const ids = await prisma.device.findMany({ select: { id: true, platform: true, token: true }, orderBy: { id: 'asc' } });
  const byToken = new Map(ids.map((d) => [`${d.platform}|${d.token}`, d.id.toString()]));
  return rows.map((r) => ({
    id: byToken.get(`${r.platform}|${r.token}`) as string,
    platform: r.platform,
    key: r.key,
    timezone: r.timezone,
  }));
}

/** How many messages each seeded device received from the fakes (accepted ones only), keyed by device id. */
export function deliveriesByDevice(fakes: PushFakes, devices: readonly SeededDevice[]): Map<string, number> {
  const byKey = new Map<string, number>();
  const bump = (key: string) => byKey.set(key, (byKey.get(key) ?? 0) + 1);
  for (const r of fakes.fcm.delivered()) bump(r.token);
  for (const r of fakes.apns.delivered()) bump(r.deviceToken);
  for (const r of fakes.webpush.delivered()) bump(r.subscriptionId);
  return new Map(devices.map((d) => [d.id, byKey.get(d.key) ?? 0]));
}

/**
 * A scheduler worker process (the built app, `--role=worker`) pointed at the fakes: the way production runs it,
 * and a process a test can SIGKILL. Resolves once it answers its health check; `url` serves its /metrics.
 */
export async function spawnWorker(options: {
  databaseUrl: string;
  redisPrefix: string;
  fakes: PushFakes;
  extra?: Record<string, string>;
}): Promise<Proc & { url: string }> {
  const port = await freePort();
  const proc = spawnApp(
    'scheduler',
    {
      DATABASE_URL: options.databaseUrl,
      REDIS_KEY_PREFIX: options.redisPrefix,
      ...redisEnv(),
      ...waveTicketEnv(),
      SCHEDULER_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '10',
      ...options.fakes.env,
      ...options.extra,
    },
    ['--role=worker'],
  );
  await waitFor(
    async () => (await httpStatus(`http://127.0.0.1:${port}/health/live`)) === 200,
    30_000,
    `the worker on port ${port}: ${proc.output()}`,
  );
  return Object.assign(proc, { url: `http://127.0.0.1:${port}` });
}
