import { Inject, Injectable, Logger } from '@nestjs/common';
import { QueueName, readSendBatch, type JobPayload, type StoredSendBatch } from '@tidegate/contracts';
import { DispatchRepository, type SendableDevice, type ZonedDevice } from '@tidegate/database';
import {
  PUSH_PLATFORMS,
  campaignLimits,
  heldJobId,
  heldRelease,
  judgeGuards,
  planJobId,
  planResults,
  quietUntil,
  isQuiet,
  retryJobId,
  windowDelay,
  type DispatchSettings,
  type QuietHours,
  type PushPlatform,
} from '@tidegate/domain';
import { backoffMs, type NotificationPayload, type PushMessage, type SendResult } from '@tidegate/push';
import { DispatchStore, RedisKeys, SINGLE_PARTITION, type RateTake, type RecordedOutcome } from '@tidegate/redis';
import type { CampaignContent } from '../campaigns/campaign-content';
import { CampaignLifecycle } from '../campaigns/lifecycle/campaign-lifecycle';
import { DispatchContext } from '../campaigns/lifecycle/dispatch-context';
import { countPlatforms } from '../campaigns/lifecycle/wave-recipients';
import { DispatchQueues, type JobControl } from '../queues/dispatch-queues';
import { DispatchMetrics } from './dispatch-metrics';
import { DISPATCH_NOW, type Now } from './dispatch-options';
import { PushProviders } from './push-providers';
import { WaveTickets } from './wave-tickets.service';
import { PaceReader } from '../pacing/pace-reader';
import { WAVES_IN_FLIGHT } from './wave-planner';

/** Provider retries back off from one second, doubling, to a minute (half of each step fixed, half jitter: libs/push backoffMs). */
export const RETRY_BASE_MS = 1000;
export const RETRY_CAP_MS = 60_000;
/** A Retry-After longer than this fails the recipients rather than parking them for days. */
export const MAX_RETRY_AFTER_MS = 3_600_000;
/** Longest a batch waiting for a rate limit sleeps before it asks again (a raised limit applies within this). */
export const MAX_RATE_WAIT_MS = 2000;
/** How long a batch of a campaign held by pacing waits before it asks again. */
export const PACED_WAIT_MS = 1000;
/** Answers judged by the guards (error rate, invalid tokens): a window of about this many recent answers. */
export const ERROR_WINDOW = 2000;

export type BatchOutcome =
  | { kind: 'sent'; sent: number; invalid: number; failed: number; inactive: number; held: number; retrying: number }
  | { kind: 'skipped'; why: string };

/** The devices of `retry` (ids among `devices`'), for their platform counts. */
function retryPlatforms(retry: readonly string[], devices: readonly SendableDevice[]): SendableDevice[] {
  const byId = new Map<string, SendableDevice>();
  for (const d of devices) byId.set(d.id, d);
  return retry.map((id) => byId.get(id) as SendableDevice);
}

/**
 * The devices read for `ids` (activeDevices: the active ones), with every id that has none recorded `inactive` in
 * `outcomes`: gone or deactivated since planning. As many devices as ids (the usual case: each row is a distinct device
 * among the ids, so each id once and none gone): they are the batch, with no lookup per id.
 */
function present<D extends SendableDevice>(active: D[], ids: readonly string[], outcomes: RecordedOutcome[]): D[] {
  if (active.length === ids.length) return active;
  const found = new Map<string, D>();
  for (const d of active) found.set(d.id, d);
  const ready: D[] = [];
  for (const id of ids) {
    const device = found.get(id);
    if (!device) outcomes.push({ deviceId: id, outcome: 'inactive' });
    else ready.push(device);
  }
  return ready;
}

/**
 * Where an id is in `ids`: `at(id, i)` for the i-th of some of them, in their order (all of them in id order: `i`
 * itself, with no lookup; PostgreSQL returns a batch's rows in the table's order, which is often not, so the lookup
 * is built once, without a pair per id); an id that is not there is a programming error.
 */
function positionsIn(ids: readonly string[]): (id: string, i: number) => number {
  let byId: Map<string, number> | undefined;
  return (id, i) => {
    if (ids[i] === id) return i;
    if (!byId) {
      byId = new Map();
      for (let j = 0; j < ids.length; j++) byId.set(ids[j] as string, j);
    }
    const found = byId.get(id);
    if (found === undefined) throw new Error(`device ${id} is not one of the batch's recipients`);
    return found;
  };
}

const emptyCounts = () => ({ sent: 0, invalid: 0, failed: 0, inactive: 0, held: 0, retrying: 0 });

/**
 * The sender: one job is one batch (≤ 500 recipients) of one wave. In order:
 *
 * 1. the campaign must be running (paused: park the job; cancelled or ended: drop it) and its window open (else
 *    wait for the next opening);
 * 2. the rate limits: global, campaign, and each provider's, taken at once for the whole batch from its planned
 *    platform counts, before any read (else wait, at most MAX_RATE_WAIT_MS, and ask again);
 * 3. the ledger check: recipients with a final outcome in this campaign are dropped (a retry, a restarted worker,
 *    a resumed wave send nothing twice);
 * 4. the active devices are read, and meanwhile every recipient's wave ticket is signed (on a signing thread); those
 *    gone or deactivated since planning are recorded `inactive`;
 * 5. quiet hours: recipients whose local time is quiet are held: one delayed job per release time (the first
 *    instant out of their quiet hours that is inside the window), recorded as skipped once;
 * 6. send, one provider call per platform, concurrently;
 * 7. record outcomes in the ledger at once (sent set only after the provider accepted);
 * 8. invalid tokens deactivate their devices (before the next wave reads the audience; not while the invalid-token
 *    rate is above its threshold: that is a configuration mistake); 429 blocks and slows the provider's limiter;
 *    retryable recipients become a new delayed job (backoff with jitter, or Retry-After); then the guards (libs/domain
 *    `judgeGuards`: a transient failure after the last attempt, the error rate counting retries, the invalid-token
 *    rate) may pause the campaign, else the completion check. The guards judge only answers to sends made since the
 *    campaign's last resume: the batch reads its partition's window generation and the campaign's guard generation
 *    with its ledger check (3); the record leaves its answers out of the windows if a resume came in between, and a
 *    pause decided before a resume is not applied after it (CampaignLifecycle.autoPause).
 *
 * A crash (or a failed record) between 6 and 7 re-sends that batch's accepted messages when the job runs again: at
 * most what was in flight (SEND_CONCURRENCY batches per worker).
 */
@Injectable()
export class BatchSender {
  private readonly logger = new Logger('BatchSender');

  constructor(
    private readonly context: DispatchContext,
    private readonly repo: DispatchRepository,
    private readonly queues: DispatchQueues,
    private readonly lifecycle: CampaignLifecycle,
    private readonly store: DispatchStore,
    private readonly providers: PushProviders,
    private readonly keys: RedisKeys,
    @Inject(DISPATCH_NOW) private readonly now: Now,
    private readonly metrics: DispatchMetrics,
    private readonly paces: PaceReader,
    private readonly waveTickets: WaveTickets,
  ) {}

  /** `stored`: the job's data as stored (its ids joined, or an array: libs/contracts StoredSendBatch). */
  async run(stored: StoredSendBatch, job: JobControl): Promise<BatchOutcome> {
    const data = readSendBatch(stored);
    const { campaignId, wave } = data;
    const snapshot = await this.context.campaign(campaignId);
    if (!snapshot) return { kind: 'skipped', why: 'the campaign no longer exists' };
    const { campaign, content } = snapshot;
    if (campaign.status === 'paused') {
      this.metrics.waits.inc({ reason: 'paused' });
      return this.queues.park(job, campaignId, QueueName.Send, () => this.context.isPaused(campaignId));
    }
    if (campaign.status !== 'running') return { kind: 'skipped', why: `the campaign is ${campaign.status}` };
    const now = new Date(this.now());
    const opens = windowDelay(content.schedule.sendWindow, now);
    if (opens > now) {
      this.metrics.waits.inc({ reason: 'window' });
      return this.queues.wait(job, opens.getTime());
    }

    // Pacing by the room (libs/domain decidePacing, published by the pacer): held, the batch waits; slowed, the
    // campaign's bucket takes the paced rate.
    const pace = content.wavePlan.pacing && campaign.roomId ? await this.paces.read(campaignId) : null;
    if (pace?.state === 'held') {
      this.metrics.waits.inc({ reason: 'paced' });
      return this.queues.wait(job, this.now() + PACED_WAIT_MS, 'paced');
    }
    const pacedPerMinute = pace?.state === 'paced' ? pace.sendPerSecond * 60 : null;

    // The rate limits first, from the batch's planned platform counts, and the ledger check in the same round trip:
    // a batch that must wait costs one script and a read.
    const store = this.store;
    const settings = await this.context.settings();
    const takes = this.rateTakes(campaignId, content, settings, data.deviceIds.length, data.platforms, pacedPerMinute);
    const partition = data.partition ?? SINGLE_PARTITION;
    const checked = await store.takeRateAndCheck(takes, this.now(), campaignId, data.deviceIds, partition);
    const { wait, unsettled: ids } = checked;
    if (wait > 0) {
      this.metrics.waits.inc({ reason: 'rate_limit' });
      // Capped, so a limit an SRE raises meanwhile applies within MAX_RATE_WAIT_MS.
      return this.queues.wait(job, this.now() + Math.min(wait, MAX_RATE_WAIT_MS));
    }

    if (ids.length < data.deviceIds.length) {
      this.metrics.messages.inc({ provider: 'ledger', outcome: 'duplicate_skipped' }, data.deviceIds.length - ids.length);
    }
    if (ids.length === 0) {
      await this.lifecycle.completeIfDone(campaignId, await store.summary(campaignId));
      return { kind: 'skipped', why: 'every recipient already has an outcome' };
    }
    // Every unsettled recipient's ticket is signed (on a signing thread) while its device is read: the batch waits for
    // the slower of the two instead of both in turn. A device found gone or held leaves its ticket unused.
    const tickets = this.waveTickets.sign({ campaignId, wave, roomId: campaign.roomId }, ids);
    // Awaited by the send; should the read fail first, its failure is the batch's, and this one is not left unobserved.
    tickets.catch(() => undefined);
    const outcomes: RecordedOutcome[] = [];
    const counts = emptyCounts();
    // The devices' time zones are read only for quiet hours (a column less per device otherwise).
    const quiet = content.schedule.quietHours;
    let toSend: SendableDevice[];
    if (quiet) {
      const ready = present(await this.repo.activeDevices(ids, { timezone: true }), ids, outcomes);
      counts.inactive = outcomes.length;
      toSend = await this.holdQuiet(data, job, content, quiet, ready, now, outcomes, counts);
    } else {
      toSend = present(await this.repo.activeDevices(ids), ids, outcomes);
      counts.inactive = outcomes.length;
    }

    const results =
      toSend.length > 0 ? await this.send(toSend, ids, content.message, await tickets) : new Map<PushPlatform, SendResult[]>();
    const retry: string[] = [];
    let retryDelayMs = 0;
    const invalid: Array<{ deviceId: string; reason: string }> = [];
    const throttled: Array<[PushPlatform, number]> = [];
    let failedTransient = 0;
    for (const [platform, platformResults] of results) {
      const plan = planResults(platformResults, {
        attempt: data.attempt,
        maxAttempts: settings.maxAttempts,
        backoffMs: backoffMs(data.attempt, RETRY_BASE_MS, RETRY_CAP_MS),
        maxRetryAfterMs: MAX_RETRY_AFTER_MS,
      });
      const provider = this.providers.for(platform)?.name ?? platform;
      if (plan.throttledForMs !== null) throttled.push([platform, Math.min(plan.throttledForMs, MAX_RETRY_AFTER_MS)]);
      // Stats count sent per platform (what marketers see as the provider), whatever adapter carried it (the sink).
      for (const id of plan.sent) outcomes.push({ deviceId: id, outcome: 'sent', provider: platform });
      // A provider's answers also count in its platform's own guards' window: one provider down out of three pauses
      // the campaign although the other two keep the shared window's error rate low. (No provider configured: no
      // answer, the shared window only.)
      const answered = this.providers.for(platform) ? platform : undefined;
      for (const i of plan.invalid) outcomes.push({ deviceId: i.deviceId, outcome: 'invalid', provider: answered });
      for (const f of plan.failed) {
        outcomes.push({ deviceId: f.deviceId, outcome: f.transient ? 'failed_transient' : 'failed', provider: answered });
      }
      // Counted by the guards each time (an outage pauses the campaign long before the retries run out).
      for (const id of plan.retry.deviceIds) outcomes.push({ deviceId: id, outcome: 'retrying', provider: answered });
      failedTransient += plan.failed.filter((f) => f.transient).length;
      for (const i of plan.invalid) invalid.push({ deviceId: i.deviceId, reason: `${platform}: ${i.reason} (campaign ${campaignId})` });
      if (plan.failed.length > 0) {
        this.logger.warn({
          msg: `campaign ${campaignId}: ${plan.failed.length} ${platform} messages failed: ${plan.failed[0]?.reason}`,
          campaignId,
        });
      }
      const count = (outcome: string, n: number) => n > 0 && this.metrics.messages.inc({ provider, outcome }, n);
      count('sent', plan.sent.length);
      count('invalid', plan.invalid.length);
      count('failed', plan.failed.length);
      count('retry', plan.retry.deviceIds.length);
      counts.sent += plan.sent.length;
      counts.invalid += plan.invalid.length;
      counts.failed += plan.failed.length;
      retry.push(...plan.retry.deviceIds);
      retryDelayMs = Math.max(retryDelayMs, plan.retry.delayMs);
    }
    if (counts.held > 0) this.metrics.messages.inc({ provider: 'none', outcome: 'held' }, counts.held);
    if (counts.inactive > 0) this.metrics.messages.inc({ provider: 'none', outcome: 'inactive' }, counts.inactive);

    // The ledger first, right after the providers answered: from here on, a failure of this job re-sends nothing
    // that was accepted (a re-run finds these devices settled and sends only what is left: the retries).
    // With the window generation read before the send: should the campaign have been resumed since, these answers are
    // to sends made before the resume, and they neither enter its new windows nor are judged (summary.judged false).
    const summary = await store.record(campaignId, wave, outcomes, ERROR_WINDOW, this.now(), partition, checked.windowGeneration);
    const verdict = summary.judged ? judgeGuards(summary, failedTransient, settings) : null;
    // A storm of invalid tokens is a credentials or environment mistake (APNs sandbox vs production), not devices
    // that uninstalled the app: their devices are left active, the campaign pauses. Answers from before a resume are
    // not judged, so they deactivate nothing either (they may be that mistake, which the resume says is mended).
    const keepActive = !summary.judged || verdict?.guard === 'invalid-token guard';
    await this.afterRecord(campaignId, keepActive ? [] : invalid, throttled);
    if (retry.length > 0) {
      counts.retrying = retry.length;
      // If this add fails the job fails and runs again: its retry recipients are still unsettled, so they are sent
      // then (sooner than the backoff), and nothing else is.
      await this.queues.add(
        QueueName.Send,
        'send-batch',
        {
          ...data,
          deviceIds: retry,
          attempt: data.attempt + 1,
          platforms: countPlatforms(retryPlatforms(retry, toSend)),
        },
        { jobId: retryJobId(job.id, data.attempt + 1), delay: retryDelayMs },
      );
    }
    // The planner of the wave that waits for this one (WAVES_IN_FLIGHT) goes now, not at its next look.
    if (summary.finishedWave) await this.wakePlanner(campaignId, wave + WAVES_IN_FLIGHT);
    const paused = verdict
      ? await this.lifecycle.autoPause(
          campaignId,
          verdict.guard,
          { reason: verdict.reason, figures: verdict.figures },
          checked.guardGeneration,
        )
      : false;
    // A verdict not applied (the campaign was resumed since it was reached, or is paused already): the completion check,
    // as without one (the resume's own check may have come before these recipients were recorded).
    if (!paused) await this.lifecycle.completeIfDone(campaignId, summary);
    return { kind: 'sent', ...counts };
  }

  /** Runs a wave's planner now if it waits (delayed); a failure is logged: the planner looks again on its own. */
  private async wakePlanner(campaignId: string, wave: number): Promise<void> {
    try {
      await this.queues.promote(QueueName.Plan, planJobId(campaignId, wave));
    } catch (err) {
      this.logger.warn({ msg: `campaign ${campaignId}: the planner of wave ${wave} was not woken: ${(err as Error).message}`, campaignId });
    }
  }

  /**
   * What follows a record and must not fail the job (its outcomes are recorded): deactivating invalid tokens (so the
   * next wave's page skips them) and slowing throttled providers. A failure is logged; a device left active is
   * deactivated by the next campaign that reaches it.
   */
  private async afterRecord(
    campaignId: string,
    invalid: Array<{ deviceId: string; reason: string }>,
    throttled: Array<[PushPlatform, number]>,
  ): Promise<void> {
    try {
      if (invalid.length > 0) await this.repo.deactivate(invalid);
    } catch (err) {
      this.logger.warn({
        msg: `campaign ${campaignId}: ${invalid.length} invalid tokens not deactivated: ${(err as Error).message}`,
        campaignId,
      });
    }
    for (const [platform, blockMs] of throttled) {
      try {
        await this.store.penalise(platform, blockMs, this.now());
      } catch (err) {
        this.logger.warn({ msg: `${platform}: the 429 slowdown was not recorded: ${(err as Error).message}`, campaignId });
      }
    }
  }

  /**
   * Splits off the recipients in their quiet hours: each group goes into a delayed job at its release time (the
   * same id however often this batch runs), recorded as held. Returns who can be sent to now.
   */
  private async holdQuiet(
    data: JobPayload<'send-batch'>,
    job: JobControl,
    content: CampaignContent,
    quiet: QuietHours,
    devices: ZonedDevice[],
    now: Date,
    outcomes: RecordedOutcome[],
    counts: ReturnType<typeof emptyCounts>,
  ): Promise<SendableDevice[]> {
    const ready: SendableDevice[] = [];
    const groups = new Map<number, SendableDevice[]>();
    const releaseByZone = new Map<string, Date | null>();
    for (const device of devices) {
      if (!isQuiet(quiet, device.timezone, now)) {
        ready.push(device);
        continue;
      }
      let release = releaseByZone.get(device.timezone);
      if (release === undefined) {
        release = heldRelease(content.schedule.sendWindow, quiet, device.timezone, quietUntil(quiet, device.timezone, now));
        releaseByZone.set(device.timezone, release);
      }
      if (release === null) {
        // The window and this recipient's quiet hours never meet: no time is allowed, so it cannot be sent.
        outcomes.push({ deviceId: device.id, outcome: 'failed' });
        counts.failed++;
        continue;
      }
      const group = groups.get(release.getTime()) ?? [];
      group.push(device);
      groups.set(release.getTime(), group);
      outcomes.push({ deviceId: device.id, outcome: 'held' });
      counts.held++;
    }
    for (const [at, group] of groups) {
      await this.queues.add(
        QueueName.Send,
        'send-batch',
        { ...data, deviceIds: group.map((d) => d.id), attempt: 0, platforms: countPlatforms(group) },
        { jobId: heldJobId(job.id, new Date(at)), delay: Math.max(0, at - this.now()) },
      );
    }
    return ready;
  }

  /**
   * The limits this batch takes from: the system's global limit and the campaign's own for all of it, each
   * provider's quota (system) and the campaign's own per-provider limit for its share. All or nothing.
   */
  private rateTakes(
    campaignId: string,
    content: CampaignContent,
    settings: DispatchSettings,
    total: number,
    perPlatform: Record<PushPlatform, number>,
    pacedPerMinute: number | null,
  ): RateTake[] {
    const limits = campaignLimits(content.wavePlan.rateLimits, settings);
    const k = this.keys.limits;
    const own = limits.campaign.perMinute;
    const takes: RateTake[] = [
      { key: k.global, count: total, perMinute: limits.system.globalPerMinute },
      // Pacing slows the campaign's own bucket (never below one message a minute: 0 would mean no limit).
      {
        key: k.campaign(campaignId),
        count: total,
        perMinute: pacedPerMinute === null ? own : Math.max(1, Math.min(own ?? Infinity, pacedPerMinute)),
      },
    ];
    for (const p of PUSH_PLATFORMS) {
      takes.push({ key: k.provider(p), count: perPlatform[p], perMinute: limits.system.providerPerMinute[p] });
      takes.push({ key: k.campaignProvider(campaignId, p), count: perPlatform[p], perMinute: limits.campaign.providerPerMinute[p] });
    }
    return takes;
  }

  /**
   * One provider call per platform, concurrently; an unconfigured platform's messages fail. Each carries its wave ticket:
   * `tickets[i]` is the ticket of `ids[i]` (WaveTickets.sign), and `devices` are some of `ids`. Every message shares the
   * campaign's `payload` (its provider resolves and writes it once and puts each ticket in: libs/push PushMessage).
   */
  private async send(
    devices: SendableDevice[],
    ids: readonly string[],
    payload: NotificationPayload,
    tickets: readonly string[],
  ): Promise<Map<PushPlatform, SendResult[]>> {
    const byPlatform = new Map<PushPlatform, PushMessage[]>();
    const at = positionsIn(ids);
    const lists: Partial<Record<PushPlatform, PushMessage[]>> = {};
    for (let i = 0; i < devices.length; i++) {
      const d = devices[i] as SendableDevice;
      const target: PushMessage['target'] =
        d.platform === 'webpush'
          ? { platform: 'webpush', subscription: { endpoint: d.token, keys: { p256dh: d.p256dh ?? '', auth: d.auth ?? '' } } }
          : { platform: d.platform, token: d.token };
      let list = lists[d.platform];
      if (!list) {
        list = lists[d.platform] = [];
        byPlatform.set(d.platform, list);
      }
      const ticket = tickets[at(d.id, i)];
      // Signed for every id (WaveTicketThreads refuses a count that differs): none may leave without its ticket.
      if (ticket === undefined) throw new Error(`no wave ticket for device ${d.id}`);
      list.push({ deviceId: d.id, target, payload, ticket });
    }
    const out = new Map<PushPlatform, SendResult[]>();
    await Promise.all(
      [...byPlatform].map(async ([platform, messages]) => {
        const provider = this.providers.for(platform);
        if (!provider) {
          out.set(
            platform,
            messages.map((m) => ({ deviceId: m.deviceId, outcome: 'failed' as const, reason: `no ${platform} provider is configured` })),
          );
          return;
        }
        const stop = this.metrics.providerSeconds.startTimer({ provider: provider.name });
        out.set(platform, await provider.send(messages));
        stop();
      }),
    );
    return out;
  }
}
