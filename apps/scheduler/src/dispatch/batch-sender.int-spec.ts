/**
 * Quiet hours and the idle-hour window, as the batch sender applies them: scenario tests with a fixed clock
 * (DISPATCH_NOW), across time zones and the DST nights of Paris (2026-03-29, 2026-10-25) and New York (2026-03-08,
 * 2026-11-01). Real PostgreSQL, Redis and BullMQ; the push sink records what was sent. Expected instants are
 * worked out by hand in the comments (quiet hours 22:00–08:00 in each recipient's zone; window 01:00–06:00 Paris).
 */
import { DelayedError } from 'bullmq';
import { WaveTicketSigner } from '@tidegate/admission';
import { readSendBatch, WAVE_TICKET_PARAM, type JobPayload, type StoredSendBatch } from '@tidegate/contracts';
import { DispatchRepository } from '@tidegate/database';
import { batchJobId, heldJobId, type QuietHours, type SendWindow } from '@tidegate/domain';
import {
  FakeJob,
  insertDevices,
  insertRunningCampaign,
  dispatchScenarioPerFile,
  type DispatchScenario,
  type ScenarioCampaign,
} from '../../../../test/support/dispatch-scenario';
import { TEST_WAVE_TICKET_SECRET } from '../../../../test/support/env';
import type { BatchOutcome } from './batch-sender';
import { WaveTickets } from './wave-tickets.service';

const PARIS = 'Europe/Paris';
const NEW_YORK = 'America/New_York';
const TOKYO = 'Asia/Tokyo';
const KOLKATA = 'Asia/Kolkata';
const UNKNOWN = 'Mars/Olympus_Mons';
const quiet: QuietHours = { start: '22:00', end: '08:00' };
const parisNight: SendWindow = { start: '01:00', end: '06:00', timezone: PARIS };
const ms = (iso: string) => Date.parse(iso);

type SendData = JobPayload<'send-batch'>;

describe('BatchSender with a fixed clock: quiet hours and the send window across zones and DST', () => {
  const scenario = dispatchScenarioPerFile('2026-03-29T00:30:00Z');
  let s: DispatchScenario;

  beforeAll(() => {
    s = scenario();
  });

  beforeEach(async () => {
    s.sink.reset();
    // Each scenario has its own fixed instant, some earlier than the last one's: start the limiter afresh.
    await s.resetRateLimits();
  });

  /** A campaign over one device per zone (in that order); its devices' ids by zone. */
  async function campaign(zones: string[], options: Omit<ScenarioCampaign, 'deviceIds'> = {}) {
    const devices = await insertDevices(s.prisma, zones);
    const id = await insertRunningCampaign(s.prisma, { deviceIds: devices.map((d) => d.id), quietHours: quiet, ...options });
    const byZone = (zone: string) => devices.filter((d) => d.timezone === zone).map((d) => d.id);
    return { id, ids: devices.map((d) => d.id), byZone, zone: (zone: string) => byZone(zone)[0] as string };
  }

  /** Batch 1 of wave 1 as the planner enqueues it (every scenario device is on FCM). */
  const batch = (campaignId: string, deviceIds: string[]): SendData => ({
    campaignId,
    wave: 1,
    batch: 1,
    deviceIds,
    attempt: 0,
    platforms: { fcm: deviceIds.length, apns: 0, webpush: 0 },
  });

  /** Runs a send job at the clock's instant: batch 1 of wave 1, or the given job (a held one, from the queue). */
  async function run(campaignId: string, deviceIds: string[], from?: { id: string; data: StoredSendBatch }) {
    const data = from?.data ?? batch(campaignId, deviceIds);
    const job = new FakeJob(from?.id ?? batchJobId(campaignId, 1, 1), data);
    return { outcome: await s.sender.run(data, job), job };
  }

  const received = () =>
    s.sink
      .lastMessages()
      .map((m) => m.deviceId)
      .sort();

  /** The device each received push's wave ticket was signed for (it must be the push's own). */
  const ticketHolders = () => {
    const signer = new WaveTicketSigner(TEST_WAVE_TICKET_SECRET);
    return s.sink.lastMessages().map((m) => [m.deviceId, signer.verify(m.payload.data?.[WAVE_TICKET_PARAM], s.clock.ms / 1000)?.deviceId]);
  };

  /** The delayed send jobs of a campaign (held recipients), earliest release first. */
  async function held(campaignId: string) {
    const jobs = (await s.sendQueue.getDelayed()).filter((j) => (j.data as SendData).campaignId === campaignId);
    return jobs
      .map((j) => {
        // Stored with the ids joined (libs/contracts StoredSendBatch); read back as the sender reads it.
        const data = readSendBatch(j.data as StoredSendBatch);
        expect((j.data as StoredSendBatch).deviceIds).toBe(data.deviceIds.join(','));
        return { id: j.id as string, deviceIds: data.deviceIds, delay: j.delay, data };
      })
      .sort((a, b) => a.delay - b.delay);
  }

  /** What a held job should be: its id names the release instant; its delay runs from the fixed now to it. */
  const heldAt = (campaignId: string, release: string, deviceIds: string[], now = s.clock.ms) => ({
    id: heldJobId(batchJobId(campaignId, 1, 1), new Date(release)),
    deviceIds,
    delay: ms(release) - now,
  });

  const stats = (campaignId: string) => s.store.stats(campaignId);
  const sentOutcome = (counts: Partial<Extract<BatchOutcome, { kind: 'sent' }>>): BatchOutcome => ({
    kind: 'sent',
    sent: 0,
    invalid: 0,
    failed: 0,
    inactive: 0,
    held: 0,
    retrying: 0,
    ...counts,
  });

  describe('no send window: quiet hours only', () => {
    it('Paris spring-forward night (00:30Z = 01:30 CET): Paris held until 08:00 CEST, UTC and unknown zones until 08:00Z', async () => {
      s.clock.set('2026-03-29T00:30:00Z');
      const c = await campaign([PARIS, NEW_YORK, TOKYO, 'UTC', UNKNOWN]);
      await s.store.planned(c.id, 1, 5, true);

      // New York 20:30 EDT and Tokyo 09:30 JST are awake; Paris (01:30) and UTC (00:30) are not.
      const first = await run(c.id, c.ids);
      expect(first.outcome).toEqual(sentOutcome({ sent: 2, held: 3 }));
      expect(received()).toEqual([c.zone(NEW_YORK), c.zone(TOKYO)].sort());
      // The Paris night is 9 real hours (22:00 CET → 08:00 CEST = 06:00Z); the unknown zone is treated as UTC.
      expect((await held(c.id)).map(({ data: _, ...j }) => j)).toEqual([
        heldAt(c.id, '2026-03-29T06:00:00Z', [c.zone(PARIS)]),
        heldAt(c.id, '2026-03-29T08:00:00Z', [c.zone('UTC'), c.zone(UNKNOWN)]),
      ]);
      expect(await stats(c.id)).toMatchObject({ sent: '2', skipped: '3', 'w1:skipped': '3', 'w1:holding': '3', settled: '2' });

      // The same batch runs again (a restarted worker): nothing re-sent, the holds counted once, the same two jobs.
      const again = await run(c.id, c.ids);
      expect(again.outcome).toEqual(sentOutcome({ held: 3 }));
      expect(s.sink.stats().messages).toBe(2);
      expect(await held(c.id)).toHaveLength(2);
      expect(await stats(c.id)).toMatchObject({ sent: '2', skipped: '3', 'w1:holding': '3' });

      // 06:00Z: 08:00 CEST in Paris, the end of the quiet hours (half-open): the Paris job sends.
      const [paris, utc] = await held(c.id);
      if (!paris || !utc) throw new Error('the two held jobs are missing');
      // A held job is a batch of its own: attempt 0, its own platform counts (for the rate limits).
      expect(paris.data).toEqual({ ...batch(c.id, [c.zone(PARIS)]), platforms: { fcm: 1, apns: 0, webpush: 0 } });
      expect(utc.data.platforms).toEqual({ fcm: 2, apns: 0, webpush: 0 });
      s.clock.set('2026-03-29T06:00:00Z');
      // Run from the job's data as stored (the ids joined), as the worker runs it.
      const stored = (await s.sendQueue.getJob(paris.id))?.data as StoredSendBatch;
      expect(typeof stored.deviceIds).toBe('string');
      expect((await run(c.id, [], { id: paris.id, data: stored })).outcome).toEqual(sentOutcome({ sent: 1 }));
      expect(await s.store.waveProgress(c.id, 1)).toEqual({ targeted: 5, settled: 3, holding: 2 });

      s.clock.set('2026-03-29T08:00:00Z');
      expect((await run(c.id, [], utc)).outcome).toEqual(sentOutcome({ sent: 2 }));
      expect(received()).toEqual([...c.ids].sort());
      expect(await s.store.waveProgress(c.id, 1)).toEqual({ targeted: 5, settled: 5, holding: 0 });
      expect(await stats(c.id)).toMatchObject({ sent: '5', skipped: '3' });
      // Every recipient has an outcome: the campaign completes.
      expect((await s.prisma.campaign.findUniqueOrThrow({ where: { id: c.id } })).status).toBe('completed');
    });

    it('Paris fall-back night: 02:30 CEST and 02:30 CET (the repeated hour) both hold Paris until 08:00 CET, in one job', async () => {
      s.clock.set('2026-10-25T00:30:00Z'); // 02:30 CEST, first pass
      const c = await campaign([PARIS, NEW_YORK, TOKYO, 'UTC', UNKNOWN]);
      const firstNow = s.clock.ms;
      expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ sent: 2, held: 3 }));
      // The night is 11 real hours: 08:00 CET = 07:00Z. New York is on EDT until 1 November (20:30).
      const expected = [
        heldAt(c.id, '2026-10-25T07:00:00Z', [c.zone(PARIS)], firstNow),
        heldAt(c.id, '2026-10-25T08:00:00Z', [c.zone('UTC'), c.zone(UNKNOWN)], firstNow),
      ];
      expect((await held(c.id)).map(({ data: _, ...j }) => j)).toEqual(expected);

      s.clock.set('2026-10-25T01:30:00Z'); // 02:30 CET, second pass: the same release, the same job
      expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ held: 3 }));
      expect((await held(c.id)).map(({ data: _, ...j }) => j)).toEqual(expected);
      expect(received()).toEqual([c.zone(NEW_YORK), c.zone(TOKYO)].sort());
      expect(await stats(c.id)).toMatchObject({ sent: '2', skipped: '3', 'w1:holding': '3' });
    });

    it.each([
      {
        night: 'New York spring-forward (06:30Z = 01:30 EST)',
        now: '2026-03-08T06:30:00Z',
        // 08:00 EDT = 12:00Z (not 13:00Z); Paris 07:30 CET → 08:00 CET = 07:00Z; UTC 06:30 → 08:00Z; Tokyo 15:30.
        releases: { [PARIS]: '2026-03-08T07:00:00Z', UTC: '2026-03-08T08:00:00Z', [NEW_YORK]: '2026-03-08T12:00:00Z' },
      },
      {
        night: 'New York fall-back, first 01:30 (05:30Z, EDT)',
        now: '2026-11-01T05:30:00Z',
        // 08:00 EST = 13:00Z; Paris 06:30 CET → 07:00Z; UTC 05:30 → 08:00Z; Tokyo 14:30.
        releases: { [PARIS]: '2026-11-01T07:00:00Z', UTC: '2026-11-01T08:00:00Z', [NEW_YORK]: '2026-11-01T13:00:00Z' },
      },
      {
        night: 'New York fall-back, second 01:30 (06:30Z, EST)',
        now: '2026-11-01T06:30:00Z',
        releases: { [PARIS]: '2026-11-01T07:00:00Z', UTC: '2026-11-01T08:00:00Z', [NEW_YORK]: '2026-11-01T13:00:00Z' },
      },
    ])('$night: Tokyo sends, the others are held until their own 08:00', async ({ now, releases }) => {
      s.clock.set(now);
      const c = await campaign([NEW_YORK, PARIS, TOKYO, 'UTC', UNKNOWN]);
      expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ sent: 1, held: 4 }));
      expect(received()).toEqual([c.zone(TOKYO)]);
      expect((await held(c.id)).map(({ data: _, ...j }) => j)).toEqual([
        heldAt(c.id, releases[PARIS], [c.zone(PARIS)]),
        heldAt(c.id, releases.UTC, [c.zone('UTC'), c.zone(UNKNOWN)]),
        heldAt(c.id, releases[NEW_YORK], [c.zone(NEW_YORK)]),
      ]);
    });
  });

  describe('a 01:00–06:00 Paris send window', () => {
    it('spring-forward night, window open (00:30Z): sends the awake, holds Kolkata inside the window, fails those it can never reach', async () => {
      s.clock.set('2026-03-29T00:30:00Z');
      const c = await campaign([PARIS, NEW_YORK, TOKYO, KOLKATA, 'UTC', UNKNOWN], { sendWindow: parisNight });
      const first = await run(c.id, c.ids);
      // Paris and UTC quiet hours cover the whole Paris night: no instant fits them, they are failed (not held).
      expect(first.outcome).toEqual(sentOutcome({ sent: 2, failed: 3, held: 1 }));
      expect(received()).toEqual([c.zone(NEW_YORK), c.zone(TOKYO)].sort());
      // Each push carries its own device's ticket, those held or failed between them.
      expect(ticketHolders()).toEqual([
        [c.zone(NEW_YORK), c.zone(NEW_YORK)],
        [c.zone(TOKYO), c.zone(TOKYO)],
      ]);
      // Kolkata (06:00 IST) wakes at 08:00 IST = 02:30Z, inside this night's window (00:00Z–04:00Z).
      expect((await held(c.id)).map(({ data: _, ...j }) => j)).toEqual([heldAt(c.id, '2026-03-29T02:30:00Z', [c.zone(KOLKATA)])]);
      expect(await stats(c.id)).toMatchObject({ sent: '2', failed: '3', 'w1:failed': '3', skipped: '1', 'w1:holding': '1' });
      expect(await s.store.unsettled(c.id, c.ids)).toEqual([c.zone(KOLKATA)]);

      // Run again: the failed stay failed once, the hold once.
      expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ held: 1 }));
      expect(await stats(c.id)).toMatchObject({ sent: '2', failed: '3', skipped: '1', 'w1:holding': '1' });
      expect(s.sink.stats().messages).toBe(2);
    });

    it('holds a recipient whose quiet hours outlast the window until the next night’s opening (New York, 03:00Z)', async () => {
      s.clock.set('2026-03-29T03:00:00Z'); // 05:00 CEST: the window closes at 04:00Z; New York is at 23:00 EDT
      const c = await campaign([NEW_YORK, TOKYO], { sendWindow: parisNight });
      expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ sent: 1, held: 1 }));
      expect(received()).toEqual([c.zone(TOKYO)]);
      // Awake at 08:00 EDT = 12:00Z; the window next opens at 01:00 CEST on the 30th = 23:00Z (19:00 in New York).
      expect((await held(c.id)).map(({ data: _, ...j }) => j)).toEqual([heldAt(c.id, '2026-03-29T23:00:00Z', [c.zone(NEW_YORK)])]);
    });

    it('fall-back night: 04:30Z (05:30 CET) is inside the 6-hour window; New York waits for the next opening', async () => {
      s.clock.set('2026-10-25T04:30:00Z'); // New York 00:30 EDT, Tokyo 13:30
      const c = await campaign([NEW_YORK, TOKYO], { sendWindow: parisNight });
      expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ sent: 1, held: 1 }));
      expect(received()).toEqual([c.zone(TOKYO)]);
      // Awake at 12:00Z; next opening 01:00 CET on the 26th = 00:00Z (20:00 EDT).
      expect((await held(c.id)).map(({ data: _, ...j }) => j)).toEqual([heldAt(c.id, '2026-10-26T00:00:00Z', [c.zone(NEW_YORK)])]);
    });

    it.each([
      { when: 'Paris afternoon', now: '2026-03-29T12:00:00Z', opens: '2026-03-29T23:00:00Z' },
      { when: 'the closing instant of the 4-hour spring night (06:00 CEST)', now: '2026-03-29T04:00:00Z', opens: '2026-03-29T23:00:00Z' },
      { when: 'before the spring night opens (00:30 CET)', now: '2026-03-28T23:30:00Z', opens: '2026-03-29T00:00:00Z' },
      { when: 'the day before the fall-back night', now: '2026-10-24T12:00:00Z', opens: '2026-10-24T23:00:00Z' },
      { when: 'the closing instant of the fall-back night (06:00 CET)', now: '2026-10-25T05:00:00Z', opens: '2026-10-26T00:00:00Z' },
    ])('window shut ($when): the job moves to the next opening and nothing is sent', async ({ now, opens }) => {
      s.clock.set(now);
      const c = await campaign([NEW_YORK, TOKYO, 'UTC'], { sendWindow: parisNight });
      const data = batch(c.id, c.ids);
      const job = new FakeJob(batchJobId(c.id, 1, 1), data);
      await expect(s.sender.run(data, job)).rejects.toBeInstanceOf(DelayedError);
      expect(job.moves).toEqual([ms(opens)]);
      expect(received()).toEqual([]);
      expect(await held(c.id)).toEqual([]);
      expect(await stats(c.id)).toEqual({});
      expect(await s.store.unsettled(c.id, c.ids)).toEqual(c.ids);
    });
  });

  it('records as inactive the recipients deactivated or deleted since planning, and sends to the others', async () => {
    s.clock.set('2026-03-29T12:00:00Z'); // every zone awake (Tokyo 21:00)
    const c = await campaign(['UTC', 'UTC', 'UTC', TOKYO], { quietHours: null });
    const [kept, deactivated, deleted, other] = c.ids as [string, string, string, string];
    await s.prisma.device.update({ where: { id: BigInt(deactivated) }, data: { active: false } });
    await s.prisma.device.delete({ where: { id: BigInt(deleted) } });
    expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ sent: 2, inactive: 2 }));
    expect(received()).toEqual([kept, other].sort());
    // The tickets were signed for all four while they were read: each push still carries its own device's.
    expect(ticketHolders()).toEqual([
      [kept, kept],
      [other, other],
    ]);
    expect(await stats(c.id)).toMatchObject({ sent: '2', inactive: '2', settled: '4' });
  });

  describe('what a batch reads: the recipients with no outcome yet, once it may send', () => {
    afterEach(() => jest.restoreAllMocks());

    it('a batch run again reads and sends only the recipients with no outcome yet', async () => {
      s.clock.set('2026-03-29T12:00:00Z');
      const c = await campaign(['UTC', 'UTC', TOKYO, 'UTC', TOKYO], { quietHours: null });
      const first = c.ids.slice(0, 3);
      expect((await run(c.id, first)).outcome).toEqual(sentOutcome({ sent: 3 }));
      s.sink.reset();
      const reads = jest.spyOn(s.module.get(DispatchRepository), 'activeDevices');
      // The same batch id with two more recipients (a retry's): the first three are settled.
      expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ sent: 2 }));
      expect(reads.mock.calls.map(([ids]) => ids)).toEqual([c.ids.slice(3)]);
      expect(received()).toEqual(c.ids.slice(3).sort());
      expect(ticketHolders()).toEqual(c.ids.slice(3).map((id) => [id, id]));
      expect(await stats(c.id)).toMatchObject({ sent: '5', settled: '5' });
    });

    it('with a limit, reads nothing while the batch must wait, then only the recipients with no outcome yet', async () => {
      s.clock.set('2026-03-29T12:00:00Z');
      const c = await campaign(['UTC', 'UTC', 'UTC', 'UTC'], { quietHours: null, rateLimits: { campaignPerMinute: 2 } });
      const reads = jest.spyOn(s.module.get(DispatchRepository), 'activeDevices');
      const [one] = c.ids as [string];
      expect((await run(c.id, [one])).outcome).toEqual(sentOutcome({ sent: 1 }));
      // Two a minute: the first took the next 30 s; the whole batch (its retry) must wait, and reads nothing meanwhile.
      const data = batch(c.id, c.ids);
      const job = new FakeJob(batchJobId(c.id, 1, 1), data);
      await expect(s.sender.run(data, job)).rejects.toBeInstanceOf(DelayedError);
      expect(job.moves).toHaveLength(1);
      expect(reads.mock.calls.map(([ids]) => ids)).toEqual([[one]]);
      // Later it fits: the three with no outcome yet are read and sent.
      s.clock.set('2026-03-29T13:00:00Z');
      expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ sent: 3 }));
      expect(reads.mock.calls.map(([ids]) => ids)).toEqual([[one], c.ids.slice(1)]);
      expect(ticketHolders()).toEqual([one, ...c.ids.slice(1)].map((id) => [id, id]));
    });

    it('a batch with nobody left to send to does not wait for its tickets, and their failure is no unhandled rejection', async () => {
      s.clock.set('2026-03-29T12:00:00Z');
      const c = await campaign(['UTC', 'UTC'], { quietHours: null });
      await s.prisma.device.updateMany({ where: { id: { in: c.ids.map(BigInt) } }, data: { active: false } });
      // The signing thread gone: the signing fails after the read has found every recipient inactive.
      jest
        .spyOn(s.module.get(WaveTickets), 'sign')
        .mockImplementation(() => new Promise((_, reject) => setImmediate(() => reject(new Error('the signing thread is gone')))));
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        expect((await run(c.id, c.ids)).outcome).toEqual(sentOutcome({ inactive: 2 }));
        // The signing's rejection has come and gone (a turn later, then the rejection checks of the turn after).
        await new Promise<void>((resolve) => setImmediate(resolve));
        await new Promise<void>((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(received()).toEqual([]);
      expect(await stats(c.id)).toMatchObject({ inactive: '2', settled: '2' });
    });
  });
});
