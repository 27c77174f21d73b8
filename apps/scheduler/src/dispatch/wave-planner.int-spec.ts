/**
 * The wave planner against a fixed clock (DISPATCH_NOW): a wave due while the 01:00–06:00 Paris window is shut waits
 * for the next opening (across the Paris DST nights), and a wave due inside it is materialised. Real PostgreSQL,
 * Redis and BullMQ; BullMQ's workers are not running, so the jobs the planner enqueues stay where it put them.
 */
import { DelayedError } from 'bullmq';
import { readSendBatch, type JobPayload, type StoredSendBatch } from '@tidegate/contracts';
import { DispatchRepository } from '@tidegate/database';
import { DispatchQueues } from '../queues/dispatch-queues';
import { batchJobId, planJobId, type QuietHours, type SendWindow } from '@tidegate/domain';
import {
  FakeJob,
  insertDevices,
  insertRunningCampaign,
  dispatchScenarioPerFile,
  type DispatchScenario,
} from '../../../../test/support/dispatch-scenario';
import { testEnv } from '../../../../test/support/env';

const quiet: QuietHours = { start: '22:00', end: '08:00' };
const parisNight: SendWindow = { start: '01:00', end: '06:00', timezone: 'Europe/Paris' };
const ms = (iso: string) => Date.parse(iso);

type PlanData = JobPayload<'plan-wave'>;

describe('WavePlanner with a fixed clock: the send window', () => {
  const scenario = dispatchScenarioPerFile('2026-03-29T12:00:00Z');
  let s: DispatchScenario;

  beforeAll(() => {
    s = scenario();
  });

  async function campaign(options: { waveSize?: number; batchSize?: number; intervalSeconds?: number } = {}) {
    const devices = await insertDevices(s.prisma, ['Europe/Paris', 'America/New_York', 'Asia/Tokyo']);
    const ids = devices.map((d) => d.id);
    const id = await insertRunningCampaign(s.prisma, { deviceIds: ids, quietHours: quiet, sendWindow: parisNight, ...options });
    return { id, ids };
  }

  const planJob = (data: PlanData) => new FakeJob(planJobId(data.campaignId, data.wave), data);
  const sendJobs = async (campaignId: string) =>
    (await s.sendQueue.getJobs(['waiting', 'delayed', 'prioritized'])).filter(
      (j) => (j.data as JobPayload<'send-batch'>).campaignId === campaignId,
    );

  it.each([
    { when: 'a Paris afternoon', now: '2026-03-29T12:00:00Z', opens: '2026-03-29T23:00:00Z' },
    {
      when: 'the closing instant of the 4-hour spring-forward night (06:00 CEST)',
      now: '2026-03-29T04:00:00Z',
      opens: '2026-03-29T23:00:00Z',
    },
    { when: 'before the spring-forward night opens (00:59 CET)', now: '2026-03-28T23:59:00Z', opens: '2026-03-29T00:00:00Z' },
    { when: 'the day before the fall-back night (opens 01:00 CEST)', now: '2026-10-24T12:00:00Z', opens: '2026-10-24T23:00:00Z' },
    { when: 'the closing instant of the 6-hour fall-back night (06:00 CET)', now: '2026-10-25T05:00:00Z', opens: '2026-10-26T00:00:00Z' },
  ])('a wave due in $when waits for the next opening, noted `window`', async ({ now, opens }) => {
    s.clock.set(now);
    const c = await campaign();
    const data: PlanData = { campaignId: c.id, wave: 1, dueAt: ms(now) - 60_000 };
    const job = planJob(data);
    await expect(s.planner.run(data, job)).rejects.toBeInstanceOf(DelayedError);
    expect(job.moves).toEqual([ms(opens)]);
    expect(job.updates).toEqual([{ ...data, note: 'window' }]);
    // Nothing materialised: no checkpoint, no batches, no count.
    expect(await s.prisma.campaignWave.count({ where: { campaignId: c.id } })).toBe(0);
    expect(await sendJobs(c.id)).toEqual([]);
    expect(await s.store.summary(c.id)).toEqual({ settled: 0, targeted: 0, lastWave: null });
  });

  it('a wave not yet due waits for its due time first, keeping its note', async () => {
    s.clock.set('2026-03-29T00:30:00Z');
    const c = await campaign();
    const data: PlanData = { campaignId: c.id, wave: 1, dueAt: ms('2026-03-29T00:45:00Z'), note: 'scheduled' };
    const job = planJob(data);
    await expect(s.planner.run(data, job)).rejects.toBeInstanceOf(DelayedError);
    expect(job.moves).toEqual([ms('2026-03-29T00:45:00Z')]);
    expect(job.updates).toEqual([]);
  });

  it('a wave due inside the window (04:30Z, open only because the fall-back night lasts 6 hours) is materialised', async () => {
    s.clock.set('2026-10-25T04:30:00Z');
    const c = await campaign({ batchSize: 2 });
    const data: PlanData = { campaignId: c.id, wave: 1, dueAt: ms('2026-10-25T04:00:00Z') };
    expect(await s.planner.run(data, planJob(data))).toEqual({ kind: 'planned', wave: 1, size: 3, last: true });
    const jobs = await sendJobs(c.id);
    expect(jobs.map((j) => j.id).sort()).toEqual([batchJobId(c.id, 1, 1), batchJobId(c.id, 1, 2)].sort());
    expect(jobs.flatMap((j) => readSendBatch(j.data as StoredSendBatch).deviceIds).sort()).toEqual([...c.ids].sort());
    // Stored with the ids joined (libs/contracts StoredSendBatch).
    for (const j of jobs) expect(typeof (j.data as StoredSendBatch).deviceIds).toBe('string');
    expect(await s.store.summary(c.id)).toEqual({ settled: 0, targeted: 3, lastWave: 1 });
    const wave = await s.prisma.campaignWave.findUniqueOrThrow({ where: { campaignId_wave: { campaignId: c.id, wave: 1 } } });
    expect(wave).toMatchObject({ size: 3, batches: 2, last: true, dueAt: new Date('2026-10-25T04:00:00Z') });
  });

  // The wave's start, and so the next wave's due time, come from the dispatch clock (not PostgreSQL's now()).
  it('schedules the next wave the interval after this one started, by the dispatch clock', async () => {
    s.clock.set('2026-03-29T01:00:00Z'); // 03:00 CEST: inside the spring-forward window
    const c = await campaign({ waveSize: 2, intervalSeconds: 600 });
    const data: PlanData = { campaignId: c.id, wave: 1, dueAt: ms('2026-03-29T01:00:00Z') };
    expect(await s.planner.run(data, planJob(data))).toEqual({ kind: 'planned', wave: 1, size: 2, last: false });
    const next = await s.planQueue.getJob(planJobId(c.id, 2));
    expect(next?.data).toEqual({ campaignId: c.id, wave: 2, dueAt: ms('2026-03-29T01:10:00Z') });
    expect(next?.delay).toBe(600_000);
  });

  it('pins a new campaign to one partition on a single Redis server, twelve on a Cluster (DISPATCH_PARTITIONS unset)', async () => {
    // A first wave of 48 batches would fill 12 partitions (4 batches each, libs/redis partitionsFor): on one server
    // partitions only cost (every record reads each one's progress), so the campaign keeps one; on a Cluster they
    // spread it over the masters.
    s.clock.set('2026-03-29T01:00:00Z');
    const ids = (
      await insertDevices(
        s.prisma,
        Array.from({ length: 48 }, () => 'UTC'),
      )
    ).map((d) => d.id);
    const id = await insertRunningCampaign(s.prisma, { deviceIds: ids, quietHours: null, sendWindow: null, waveSize: 48, batchSize: 1 });
    const data: PlanData = { campaignId: id, wave: 1, dueAt: ms('2026-03-29T01:00:00Z') };
    expect(await s.planner.run(data, planJob(data))).toEqual({ kind: 'planned', wave: 1, size: 48, last: true });
    const cluster = (testEnv.redisClusterNodes?.length ?? 0) > 0;
    // One partition is the layout from before partitions (the campaign's own keys, blocks of 1).
    expect(await s.store.layoutOf(id)).toEqual(cluster ? { of: 12, block: 1024 } : { of: 1, block: 1 });
    if (!cluster) {
      // Every batch in the first send queue, as partition 0 of 1.
      const jobs = await sendJobs(id);
      expect(jobs).toHaveLength(48);
      for (const j of jobs) expect((j.data as StoredSendBatch).partition).toEqual({ index: 0, of: 1 });
    }
  });

  it.each([
    { how: 'read as text', text: true },
    { how: 'read as rows when the text is not exactly the page', text: false },
  ])('a segment: its waves $how, cut into the same batches, the checkpoint after each', async ({ text }) => {
    s.clock.set('2026-03-29T01:00:00Z');
    // 30 devices of a segment of their own, platforms in turn, 3 deactivated, between devices outside it.
    const tag = `text-${Math.random().toString(36).slice(2)}`;
    const platforms = ['fcm', 'apns', 'webpush'] as const;
    const created: Array<{ id: string; platform: (typeof platforms)[number]; active: boolean }> = [];
    for (let i = 0; i < 30; i++) {
      const platform = platforms[i % 3] as (typeof platforms)[number];
      const active = i !== 4 && i !== 5 && i !== 17;
      const row = await s.prisma.device.create({
        data: {
          platform,
          token: `${tag}-${i}`,
          timezone: 'UTC',
          tags: [tag],
          active,
          ...(platform === 'webpush' && { p256dh: 'k', auth: 'a' }),
        },
        select: { id: true },
      });
      if (i % 7 === 0) await insertDevices(s.prisma, ['UTC']);
      created.push({ id: row.id.toString(), platform, active });
    }
    const recipients = created.filter((d) => d.active);
    const id = await insertRunningCampaign(s.prisma, {
      deviceIds: [],
      segment: { tagsAll: [tag] },
      quietHours: null,
      sendWindow: null,
      waveSize: 20,
      batchSize: 6,
    });

    const plan = async (wave: number) => {
      const data: PlanData = { campaignId: id, wave, dueAt: ms('2026-03-29T01:00:00Z') };
      return s.planner.run(data, planJob(data));
    };
    const batchesOf = async (wave: number) =>
      (await sendJobs(id))
        .map((j) => j.data as StoredSendBatch)
        .filter((d) => d.wave === wave)
        .sort((a, b) => a.batch - b.batch)
        .map((d) => ({ ids: readSendBatch(d).deviceIds, platforms: d.platforms, stored: typeof (d.deviceIds ?? d.ids) }));
    const expected = (devices: typeof recipients) =>
      Array.from({ length: Math.ceil(devices.length / 6) }, (_, k) => devices.slice(k * 6, k * 6 + 6)).map((b) => ({
        ids: b.map((d) => d.id),
        platforms: {
          fcm: b.filter((d) => d.platform === 'fcm').length,
          apns: b.filter((d) => d.platform === 'apns').length,
          webpush: b.filter((d) => d.platform === 'webpush').length,
        },
        stored: 'string',
      }));

    // As text, no row of the page read one by one; or, should the text be refused (readPageText: null), as rows.
    const repo = s.module.get(DispatchRepository);
    const rows = jest.spyOn(repo, 'segmentPage');
    const refused = text ? null : jest.spyOn(repo, 'segmentPageText').mockResolvedValue(null);
    // A planner that dies after the checkpoint, before its batches are enqueued: the next run lists the wave again from
    // the checkpoint (up to its last id), one device fewer (deactivated meanwhile), and enqueues what is left of it.
    const enqueue = jest.spyOn(s.module.get(DispatchQueues), 'addBatches').mockRejectedValueOnce(new Error('Redis went away'));
    await expect(plan(1)).rejects.toThrow('Redis went away');
    enqueue.mockRestore();
    const gone = recipients.splice(7, 1)[0]?.id as string;
    await s.prisma.device.update({ where: { id: BigInt(gone) }, data: { active: false } });
    expect(await plan(1)).toEqual({ kind: 'planned', wave: 1, size: 19, last: false });
    expect(await batchesOf(1)).toEqual(expected(recipients.slice(0, 19)));
    const first = await s.prisma.campaignWave.findUniqueOrThrow({ where: { campaignId_wave: { campaignId: id, wave: 1 } } });
    // The checkpoint as the first run wrote it: 20 recipients up to the 20th.
    expect([first.afterId.toString(), first.lastId.toString(), first.size, first.batches]).toEqual(['0', recipients[18]?.id, 20, 4]);
    expect(await plan(2)).toEqual({ kind: 'planned', wave: 2, size: 7, last: true });
    expect(await batchesOf(2)).toEqual(expected(recipients.slice(19)));
    expect(await s.store.summary(id)).toEqual({ settled: 0, targeted: 26, lastWave: 2 });
    expect(rows).toHaveBeenCalledTimes(text ? 0 : 3);
    rows.mockRestore();
    refused?.mockRestore();
  });

  it('an inline audience with a deleted device is not cut short: the next wave starts after the listed ids', async () => {
    s.clock.set('2026-03-29T01:00:00Z');
    const devices = await insertDevices(s.prisma, ['UTC', 'UTC', 'UTC', 'UTC', 'UTC', 'UTC', 'UTC']);
    const ids = devices.map((d) => d.id);
    await s.prisma.device.delete({ where: { id: BigInt(ids[1] as string) } });
    const id = await insertRunningCampaign(s.prisma, { deviceIds: ids, quietHours: null, sendWindow: null, waveSize: 3, batchSize: 3 });

    const wave1: PlanData = { campaignId: id, wave: 1, dueAt: ms('2026-03-29T01:00:00Z') };
    // Listed: 1–3 of seven ids; the deleted one is not a recipient, and more ids follow.
    expect(await s.planner.run(wave1, planJob(wave1))).toEqual({ kind: 'planned', wave: 1, size: 2, last: false });
    const checkpoint = await s.prisma.campaignWave.findUniqueOrThrow({ where: { campaignId_wave: { campaignId: id, wave: 1 } } });
    expect(checkpoint.lastId.toString()).toBe(ids[2]);

    const wave2: PlanData = { campaignId: id, wave: 2, dueAt: ms('2026-03-29T01:00:00Z') };
    expect(await s.planner.run(wave2, planJob(wave2))).toEqual({ kind: 'planned', wave: 2, size: 3, last: false });
    // Wave 3 waits for wave 1 to finish (two waves in flight at most): its two recipients are sent.
    await s.store.record(
      id,
      1,
      [ids[0], ids[2]].map((deviceId) => ({ deviceId: deviceId as string, outcome: 'sent' as const, provider: 'fcm' })),
      100,
    );
    const wave3: PlanData = { campaignId: id, wave: 3, dueAt: ms('2026-03-29T01:00:00Z') };
    expect(await s.planner.run(wave3, planJob(wave3))).toEqual({ kind: 'planned', wave: 3, size: 1, last: true });
    const planned = (await sendJobs(id)).flatMap((j) => readSendBatch(j.data as StoredSendBatch).deviceIds);
    expect(planned.sort()).toEqual(ids.filter((_, i) => i !== 1).sort());
  });
});
