import fs from 'node:fs';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { SchedulerConfig } from '@tidegate/config';
import { type PushPlatform } from '@tidegate/domain';
import { ApnsProvider, FcmProvider, SinkProvider, WebPushProvider, type PushProvider, type TlsOptions } from '@tidegate/push';

/** What the providers need from the scheduler's configuration. */
export type PushConfig = Pick<
  SchedulerConfig,
  | 'PUSH_SINK'
  | 'SINK_FORWARD_URL'
  | 'SINK_FORWARD_TIMEOUT_MS'
  | 'PUSH_TIMEOUT_MS'
  | 'PUSH_CA_FILE'
  | 'FCM_SERVICE_ACCOUNT'
  | 'FCM_SERVICE_ACCOUNT_FILE'
  | 'FCM_PROJECT_ID'
  | 'FCM_ENDPOINT'
  | 'APNS_KEY'
  | 'APNS_KEY_ID'
  | 'APNS_TEAM_ID'
  | 'APNS_TOPIC'
  | 'APNS_ENDPOINT'
  | 'VAPID_PUBLIC_KEY'
  | 'VAPID_PRIVATE_KEY'
  | 'VAPID_SUBJECT'
  | 'WEBPUSH_ALLOW_HTTP'
>;

export const PUSH_CONFIG = Symbol('PUSH_CONFIG');

/**
 * One provider per platform, built once per worker process from the configuration (connections are reused by every
 * batch) and closed at shutdown. A platform without credentials has no provider: its messages are recorded as
 * failed (`provider not configured`). With PUSH_SINK every platform goes to one sink
 * (which forwards each batch to SINK_FORWARD_URL when set).
 */
@Injectable()
export class PushProviders implements OnApplicationShutdown {
  private readonly logger = new Logger('PushProviders');
  private readonly byPlatform = new Map<PushPlatform, PushProvider>();
  /** The sink, when PUSH_SINK is on (tests and demos read what it received). */
  readonly sink: SinkProvider | null;

  constructor(config: PushConfig) {
    const tls: TlsOptions | undefined = config.PUSH_CA_FILE ? { ca: fs.readFileSync(config.PUSH_CA_FILE) } : undefined;
    const common = { timeoutMs: config.PUSH_TIMEOUT_MS, ...(tls && { tls }) };
    if (config.PUSH_SINK) {
      this.sink = new SinkProvider({
        keepLast: 100,
        ...(config.SINK_FORWARD_URL && {
          forwardUrl: config.SINK_FORWARD_URL,
          forwardTimeoutMs: config.SINK_FORWARD_TIMEOUT_MS,
          onForwardError: (error, messages) =>
            this.logger.warn(`sink: forwarding ${messages} messages to SINK_FORWARD_URL failed (they count as sent): ${error.message}`),
        }),
      });
      for (const p of ['fcm', 'apns', 'webpush'] as const) this.byPlatform.set(p, this.sink);
      return;
    }
    this.sink = null;
    const account =
      config.FCM_SERVICE_ACCOUNT ?? (config.FCM_SERVICE_ACCOUNT_FILE && fs.readFileSync(config.FCM_SERVICE_ACCOUNT_FILE, 'utf8'));
    if (account) {
      this.byPlatform.set(
        'fcm',
        new FcmProvider({
          serviceAccount: account,
          ...common,
          ...(config.FCM_PROJECT_ID && { projectId: config.FCM_PROJECT_ID }),
          ...(config.FCM_ENDPOINT && { endpoint: config.FCM_ENDPOINT }),
        }),
      );
    }
    if (config.APNS_KEY && config.APNS_KEY_ID && config.APNS_TEAM_ID && config.APNS_TOPIC) {
      this.byPlatform.set(
        'apns',
        new ApnsProvider({
          signingKey: config.APNS_KEY.replace(/\\n/g, '\n'),
          keyId: config.APNS_KEY_ID,
          teamId: config.APNS_TEAM_ID,
          topic: config.APNS_TOPIC,
          ...common,
          ...(config.APNS_ENDPOINT && { endpoint: config.APNS_ENDPOINT }),
        }),
      );
    }
    if (config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY && config.VAPID_SUBJECT) {
      this.byPlatform.set(
        'webpush',
        new WebPushProvider({
          vapid: { publicKey: config.VAPID_PUBLIC_KEY, privateKey: config.VAPID_PRIVATE_KEY, subject: config.VAPID_SUBJECT },
          ...common,
          allowHttp: config.WEBPUSH_ALLOW_HTTP,
        }),
      );
    }
    const missing = (['fcm', 'apns', 'webpush'] as const).filter((p) => !this.byPlatform.has(p));
    if (missing.length > 0)
      this.logger.warn(`no credentials for ${missing.join(', ')}: messages to those devices will be recorded as failed`);
  }

  /** The provider of a platform, or null when it is not configured. */
  for(platform: PushPlatform): PushProvider | null {
    return this.byPlatform.get(platform) ?? null;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...new Set(this.byPlatform.values())].map((p) => p.close()));
  }
}
