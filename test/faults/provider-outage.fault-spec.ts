/**
 * A provider outage with the default retry and guard settings: the fake FCM answers 503 to everything for a real
 * 60 s in the middle of a campaign to all three platforms. What must happen (docs/dispatch.md, "Provider results"):
 * the failing recipients are retried with backoff, the campaign pauses itself (error-rate guard, FCM's own window:
 * the other providers' successes do not dilute it) with its reason before any recipient runs out of attempts,
 * nobody is marked failed at the pause or after it, little goes to the provider while paused, and
 * a resume after the outage sends everyone exactly once. The spacing of the retries is read from the fake's log.
 */
import { PrismaService } from '@tidegate/database';
import { startScheduler, type RunningApp } from '../support/apps';
import { adminCall } from '../support/admin-api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { waitFor, type Proc } from '../support/processes';
import { deliveriesByDevice, seedDevices, spawnWorker, startPushFakes, type PushFakes } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';
import { recordFigures } from './support/figures';

const DEVICES = 3000;
const BATCH = 100;
/** The worker's default SEND_CONCURRENCY: batches one worker has with the providers at once. */
const IN_FLIGHT = 4 * BATCH;
/** 200 messages a second: the campaign would take about 15 s without the outage. */
const RATE_PER_MINUTE = 12_000;
const OUTAGE_MS = 60_000;
/** The default max_attempts (docs/dispatch.md): a recipient retried this often would be failed. */
const MAX_ATTEMPTS = 5;

type Json = Record<string, unknown>;

/** For each token, the times the fake answered it 503, in order. */
function outageAnswers(fakes: PushFakes, from: number): Map<string, number[]> {
  const byToken = new Map<string, number[]>();
  for (const r of fakes.fcm.received) {
    if (r.status !== 503 || r.at < from) continue;
    byToken.set(r.token, [...(byToken.get(r.token) ?? []), r.at]);
  }
  return byToken;
}

const median = (xs: number[]) => (xs.length === 0 ? 0 : ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number));

describe('fault: a provider answering 503 for 60 s, default settings', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let fakes: PushFakes;
  let scheduler: RunningApp;
  let worker: Proc | undefined;
  let prisma: PrismaService;
  let marketer: string;

  const api = (method: string, path: string, body?: unknown) => adminCall(scheduler.url, marketer, method, path, body);
  const campaign = async (id: string) => (await api('GET', `/admin/campaigns/${id}`)).body as Json;
  const stats = async (id: string) => (await api('GET', `/admin/campaigns/${id}/stats`)).body as Json;
  const timeline = async (id: string) => (await api('GET', `/admin/campaigns/${id}/timeline`)).body.items as Json[];

  beforeAll(async () => {
    [db, redis, fakes] = await Promise.all([createTestDatabase(), createTestRedis(), startPushFakes()]);
    scheduler = await startScheduler({ databaseUrl: db.url, redisPrefix: redis.prefix }, 'api');
    prisma = scheduler.app.get(PrismaService);
    marketer = (await createRoleKeys(scheduler.app)).marketer;
    // One worker process with every dispatch default (attempts, backoff, guards, concurrency, lock).
    worker = await spawnWorker({ databaseUrl: db.url, redisPrefix: redis.prefix, fakes });
  });

  afterAll(async () => {
    await Promise.all([scheduler?.close(), worker?.stop()]);
    await Promise.all([fakes?.close(), redis?.cleanup(), db?.drop()]);
  });

  it('backs off, pauses itself with the reason before anyone fails, and sends everyone once on resume', async () => {
    const devices = await seedDevices(prisma, fakes, DEVICES, { tags: ['outage'] });
    const fcmDevices = devices.filter((d) => d.platform === 'fcm');
    const created = await api('POST', '/admin/campaigns', {
      name: 'faults: provider outage',
      message: { title: 'Hello', body: 'Tidegate' },
      audience: { segment: { tagsAll: ['outage'] } },
      wave_plan: { batch_size: BATCH, wave_size: 500, interval_seconds: 1, rate_limits: { campaign: RATE_PER_MINUTE } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api('POST', `/admin/campaigns/${id}/start`)).status).toBe(200);

    // Mid-campaign: FCM goes down (a third of the audience) once 300 FCM messages are out. FCM's guard window then
    // holds 300 successes, so the pause needs more than 300 failures (about 4.5 s of FCM's share of the campaign's
    // rate): time for the first retries (due 0.5-1 s after a failure, then taking their turn at the campaign's rate
    // limit with the fresh batches) to go out before it. With 200, about one run in ten paused before any retry went.
    await waitFor(() => fakes.fcm.delivered().length >= 300, 30_000, '300 FCM messages before the outage');
    const outageStart = Date.now();
    for (const d of fcmDevices) fakes.fcm.fail(d.key, 'unavailable');
    const deliveredBefore = fakes.fcm.delivered().length;

    await waitFor(async () => (await campaign(id)).status === 'paused', OUTAGE_MS - 5000, 'the campaign to pause during the outage');
    const pause = (await timeline(id)).find((e) => e.kind === 'auto_pause');
    expect(pause).toMatchObject({ from_status: 'running', to_status: 'paused' });
    const pausedAt = new Date(pause!.at as string).getTime();
    const atPause = await stats(id);
    process.stdout.write(`provider outage: paused by the ${String(pause!.actor)}: ${String(atPause.status_reason)}\n`);
    // The error-rate guard pauses it, with its reason, during the outage, before any recipient ran out of attempts:
    // FCM's own window (the guards keep one per provider) passes 50 % whatever the other two providers answer, and
    // the backoff's floor (half of each attempt's ceiling) keeps a recipient's 5 attempts at least 7.5 s apart from
    // the first to the last. Nobody is counted failed at the pause.
    expect(pause!.actor).toBe('error-rate guard');
    expect(pause!.figures).toMatchObject({ provider: 'fcm' });
    expect(atPause.failed).toBe(0);
    expect(atPause.status_reason).toMatch(/^paused automatically: /);

    // The outage lasts its full 60 s (the fault's length, not a wait for a result); the campaign stays paused.
    await new Promise((r) => setTimeout(r, Math.max(0, outageStart + OUTAGE_MS - Date.now())));
    const afterOutage = await stats(id);
    expect(afterOutage.status).toBe('paused');
    const outageRequests = fakes.fcm.received.filter((r) => r.at >= outageStart);
    const whilePaused = outageRequests.filter((r) => r.at > pausedAt).length;
    // Batches already with the provider when the pause was decided finish; nothing else is sent while paused.
    expect(whilePaused).toBeLessThanOrEqual(IN_FLIGHT);

    // Backoff, from the fake's log: no recipient was asked more than max_attempts times, those counted failed are
    // exactly those that used every attempt, and the spacing grows with the attempt (full jitter up to 1 s, 2 s, 4 s…).
    const answers = outageAnswers(fakes, outageStart);
    const perToken = [...answers.values()];
    const maxPerToken = Math.max(...perToken.map((t) => t.length));
    const exhausted = perToken.filter((t) => t.length >= MAX_ATTEMPTS).length;
    const retries = perToken.reduce((n, t) => n + t.length - 1, 0);
    const gaps: number[][] = [];
    for (const times of perToken) times.slice(1).forEach((t, i) => (gaps[i] ??= []).push(t - (times[i] as number)));
    expect(maxPerToken).toBeLessThanOrEqual(MAX_ATTEMPTS);
    expect(retries).toBeGreaterThan(0);
    expect(afterOutage.failed).toBe(exhausted);
    const gapFigures = Object.fromEntries(gaps.map((g, i) => [`medianGapAfterAttempt${i + 1}Ms`, median(g)]));
    process.stdout.write(
      `provider outage: ${outageRequests.length} FCM requests in 60 s for ${answers.size} recipients, ${retries} retries, ` +
        `at most ${maxPerToken} per recipient, ${exhausted} out of attempts; ${whilePaused} after the pause; ` +
        `gaps ${JSON.stringify(gapFigures)}\n`,
    );

    // The outage ends; a person resumes.
    fakes.fcm.clearFailures();
    expect((await api('POST', `/admin/campaigns/${id}/resume`)).status).toBe(200);
    await waitFor(async () => (await campaign(id)).status === 'completed', 60_000, 'the campaign to complete after the resume');
    const received = deliveriesByDevice(fakes, devices);
    const lost = devices.filter((d) => (received.get(d.id) ?? 0) === 0).length;
    const duplicated = [...received.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(await stats(id)).toMatchObject({ targeted: DEVICES, sent: DEVICES, failed: 0 });
    // The status changes (the planner's held / released entries for waves waiting on the wave before aside).
    const changes = (await timeline(id)).filter((e) => e.to_status !== null).map((e) => e.kind);
    expect(changes).toEqual(['start', 'auto_pause', 'resume', 'complete']);

    recordFigures('provider-503-60s', {
      fault: 'FCM answers 503 for 60 s mid-campaign (default retry and guard settings), then resume',
      lost,
      duplicated,
      overCapacity: 0,
      completed: true,
      extra: {
        devices: DEVICES,
        fcmDeliveredBeforeOutage: deliveredBefore,
        pausedAfterSeconds: Number(((pausedAt - outageStart) / 1000).toFixed(1)),
        pausedBy: String(pause!.actor),
        failedAtPause: Number(atPause.failed),
        outOfAttemptsByTheEnd: exhausted,
        outageRequests: outageRequests.length,
        retries,
        maxAttemptsPerRecipient: maxPerToken,
        requestsWhilePaused: whilePaused,
        ...gapFigures,
      },
    });
  }, 180_000);
});
