/**
 * The guards and a resume: a campaign paused by an outage and resumed must not be paused again by the answers to
 * sends made before the resume (batches that were already with the provider when it paused). Real PostgreSQL, Redis
 * and BullMQ (the scheduler's worker module compiled in-process, test/support/dispatch-scenario); the push sink stands
 * in for the provider, and its answers are what each test makes them (an outage answers "retry").
 */
import type { PushMessage, SendResult } from '@tidegate/push';
import { batchJobId } from '@tidegate/domain';
import {
  FakeJob,
  insertDevices,
  insertRunningCampaign,
  dispatchScenarioPerFile,
  type DispatchScenario,
} from '../../../../test/support/dispatch-scenario';
import { partitionIn, partitionOf, REDIS, type RedisClient } from '@tidegate/redis';
import { apiActor, CampaignLifecycle } from '../campaigns/lifecycle/campaign-lifecycle';

/** More answers than the error-rate guard's minimum sample (200), all in one batch. */
const RECIPIENTS = 250;
const sre = apiActor({ keyId: 'key-sre', keyName: 'sre' });

/** An outage's answers: every message asked to be tried again. */
const outage = (batch: readonly PushMessage[]): SendResult[] =>
  batch.map((m) => ({ deviceId: m.deviceId, outcome: 'retry', status: 503, reason: 'UNAVAILABLE' }));

describe('the guards and a resume (answers from before a resume do not pause the resumed campaign)', () => {
  const scenario = dispatchScenarioPerFile('2026-06-01T12:00:00Z');
  let s: DispatchScenario;
  let lifecycle: CampaignLifecycle;

  beforeAll(() => {
    s = scenario();
    lifecycle = s.module.get(CampaignLifecycle);
  });

  beforeEach(async () => {
    jest.restoreAllMocks();
    s.sink.reset();
    await s.resetRateLimits();
  });

  /** A running campaign of RECIPIENTS FCM devices in one batch, its wave planned. */
  async function campaign() {
    const devices = await insertDevices(
      s.prisma,
      Array.from({ length: RECIPIENTS }, () => 'UTC'),
    );
    const ids = devices.map((d) => d.id);
    const id = await insertRunningCampaign(s.prisma, { deviceIds: ids, batchSize: RECIPIENTS, waveSize: RECIPIENTS });
    await s.store.planned(id, 1, RECIPIENTS, true);
    const data = { campaignId: id, wave: 1, batch: 1, deviceIds: ids, attempt: 0, platforms: { fcm: ids.length, apns: 0, webpush: 0 } };
    const send = () => s.sender.run(data, new FakeJob(batchJobId(id, 1, 1), data));
    return { id, ids, send };
  }

  /** The SRE pauses during the outage, the provider recovers, the SRE resumes. */
  async function pauseAndResume(id: string) {
    await lifecycle.pause(id, sre, 'provider outage');
    await lifecycle.resume(id, sre, 'provider back');
  }
  const providerDown = () => jest.spyOn(s.sink, 'send').mockImplementation((batch) => Promise.resolve(outage(batch)));

  const status = async (id: string) => (await s.prisma.campaign.findUniqueOrThrow({ where: { id } })).status;
  const timeline = async (id: string) =>
    (await s.prisma.campaignEvent.findMany({ where: { campaignId: id }, orderBy: { id: 'asc' } })).map((e) => e.kind);
  /** The campaign's guards' window (a scenario's small campaign has one partition: its own stats hash). */
  const windowOf = async (id: string) => {
    const [total, failed] = await s.module.get<RedisClient>(REDIS).hmget(s.keys.campaign(id).stats, 'recent_total', 'recent_failed');
    return { total: Number(total ?? 0), failed: Number(failed ?? 0) };
  };

  it('an outage still pauses a running campaign (the guards judge answers to sends made while it runs)', async () => {
    const c = await campaign();
    providerDown();
    await c.send();
    expect(await status(c.id)).toBe('paused');
    expect(await timeline(c.id)).toEqual(['auto_pause']);
  });

  it('a batch with the provider when the campaign is paused and resumed: its outage answers do not pause it again', async () => {
    const c = await campaign();
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let reached!: () => void;
    const withProvider = new Promise<void>((resolve) => (reached = resolve));
    jest.spyOn(s.sink, 'send').mockImplementation(async (batch) => {
      reached();
      await answered;
      return outage(batch);
    });
    const sending = c.send();
    await withProvider;
    // The SRE pauses during the outage, the provider recovers, the SRE resumes; then the batch's old answers come.
    await pauseAndResume(c.id);
    answer();
    expect(await sending).toMatchObject({ kind: 'sent', retrying: RECIPIENTS });

    expect(await status(c.id)).toBe('running');
    expect(await timeline(c.id)).toEqual(['pause', 'resume']);
    // Recorded for the ledger and the retries, but not in the resumed campaign's guards' window.
    expect(await windowOf(c.id)).toEqual({ total: 0, failed: 0 });
    const retry = (await s.sendQueue.getDelayed()).find((j) => (j.data as { campaignId: string }).campaignId === c.id);
    expect(retry?.data).toMatchObject({ attempt: 1 });
  });

  it("a guard's verdict reached before a resume is not applied after it", async () => {
    const c = await campaign();
    providerDown();
    // The batch records its answers (the window now says pause), then, before it acts on that, the campaign is
    // paused and resumed by hand: the verdict judged a window the resume has since replaced.
    const record = s.store.record.bind(s.store);
    jest.spyOn(s.store, 'record').mockImplementationOnce(async (...args) => {
      const summary = await record(...args);
      await pauseAndResume(c.id);
      return summary;
    });
    await c.send();

    expect(await status(c.id)).toBe('running');
    expect(await timeline(c.id)).toEqual(['pause', 'resume']);
  });

  it('a pause and a resume between the guard reading the campaign and writing its pause: the pause is not written', async () => {
    const c = await campaign();
    providerDown();
    // The guard has read the campaign (running) and the generation (still its batch's) when the SRE pauses and
    // resumes: only the row's compare-and-set can tell.
    const generation = s.store.guardGeneration.bind(s.store);
    jest.spyOn(s.store, 'guardGeneration').mockImplementationOnce(async (...args) => {
      const read = await generation(...args);
      await pauseAndResume(c.id);
      return read;
    });
    await c.send();

    expect(await status(c.id)).toBe('running');
    expect(await timeline(c.id)).toEqual(['pause', 'resume']);
  });

  it("partitions: a verdict reached while a resend starts each partition's windows afresh is not applied", async () => {
    // Two partitions (odd and even ids). Partition 1's window still holds an outage's answers; the provider is back.
    const devices = await insertDevices(
      s.prisma,
      Array.from({ length: 40 }, () => 'UTC'),
    );
    const ids = devices.map((d) => d.id);
    const id = await insertRunningCampaign(s.prisma, { deviceIds: ids, batchSize: 40, waveSize: 40 });
    const layout = await s.store.pinPartitions(id, 2, 1);
    await s.store.planned(id, 1, ids.length, true);
    const even = ids.filter((d) => partitionOf(d, 2, 1) === 0);
    const odd = ids.filter((d) => partitionOf(d, 2, 1) === 1);
    const outage = Array.from({ length: RECIPIENTS }, (_, i) => ({
      deviceId: String(1_000_001 + 2 * i),
      outcome: 'retrying' as const,
      provider: 'fcm',
    }));
    await s.store.record(id, 1, outage, 2000, s.clock.ms, partitionIn(1, layout));
    // One recipient failed for good, so that the SRE's resend-failed has something to send.
    await s.store.record(
      id,
      1,
      [{ deviceId: odd[0] as string, outcome: 'failed', provider: 'fcm' }],
      2000,
      s.clock.ms,
      partitionIn(1, layout),
    );
    const data = {
      campaignId: id,
      wave: 1,
      batch: 1,
      deviceIds: even,
      attempt: 0,
      platforms: { fcm: even.length, apns: 0, webpush: 0 },
      partition: partitionIn(0, layout),
    };

    // The resend resets partition 0, then, before partition 1, a batch of partition 0 checks, sends (all accepted) and
    // records: the windows it merges are its own new one and partition 1's old one, which say "pause". Its pause is
    // written once the resend has moved the campaign on.
    const scripts = (
      s.store as unknown as { scripts: { guardsReset: (keys: readonly string[], args: readonly string[]) => Promise<number> } }
    ).scripts;
    const reset = scripts.guardsReset.bind(scripts);
    let judged!: () => void;
    const verdict = new Promise<void>((resolve) => (judged = resolve));
    let resent!: () => void;
    const resendDone = new Promise<void>((resolve) => (resent = resolve));
    const autoPause = lifecycle.autoPause.bind(lifecycle);
    jest.spyOn(lifecycle, 'autoPause').mockImplementationOnce(async (...args) => {
      judged();
      await resendDone;
      return autoPause(...args);
    });
    let sending: Promise<unknown> | undefined;
    let resets = 0;
    jest.spyOn(scripts, 'guardsReset').mockImplementation(async (keys, args) => {
      if (++resets === 2) {
        sending = s.sender.run(data, new FakeJob(batchJobId(id, 1, 1), data));
        await verdict;
      }
      return reset(keys, args);
    });
    await lifecycle.resend(id, sre, 'provider back');
    resent();
    expect(await sending).toMatchObject({ kind: 'sent', sent: even.length });

    expect(await status(id)).toBe('running');
    expect(await timeline(id)).toEqual(['resend', 'resent']);
  });
});
