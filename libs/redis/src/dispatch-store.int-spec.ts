/**
 * The dispatch ledger, counters and rate limits against real Redis (standalone here, a 6-node Cluster under
 * `npm run test:cluster`): every script's keys share one hash tag, so each runs in one slot.
 *
 * Rate-limit tests pass their own `now` (a simulated clock far from the real one, a fresh stretch per test), so
 * nothing depends on how fast this machine is.
 */
import { randomUUID } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { startPrivateRedis } from '../../../test/faults/support/private-redis';
import { createTestRedis, type TestRedis } from '../../../test/support/redis';
import { readCampaignStats } from './campaign-stats';
import { closeRedisClient, createRedisClient, waitUntilReady } from './connection';
import { DispatchStore, RATE_BURST_MS, isCampaignDone, type RecordedOutcome } from './dispatch-store';
import { SINGLE_PARTITION } from './dispatch-partitions';

const WINDOW = 2000;

describe('DispatchStore (Redis)', () => {
  let redis: TestRedis;
  let store: DispatchStore;

  beforeAll(async () => {
    redis = await createTestRedis();
    store = new DispatchStore(redis.client, redis.keys);
  });
  afterAll(() => redis.cleanup());

  const stats = (campaignId: string) => redis.client.hgetall(redis.keys.campaign(campaignId).stats);
  const sent = (deviceId: string, provider = 'fcm'): RecordedOutcome => ({ deviceId, outcome: 'sent', provider });
  const other = (deviceId: string, outcome: Exclude<RecordedOutcome['outcome'], 'sent'>): RecordedOutcome => ({ deviceId, outcome });
  /** A provider's answer other than sent, counted in that provider's window too. */
  const answer = (
    deviceId: string,
    outcome: 'failed' | 'failed_transient' | 'invalid' | 'retrying',
    provider = 'fcm',
  ): RecordedOutcome => ({
    deviceId,
    outcome,
    provider,
  });
  const bit = (key: string, id: number) => redis.client.getbit(key, id);

  it('keeps every key of one script in one Cluster slot', () => {
    const c = redis.keys.campaign(randomUUID());
    const slots = (keys: string[]) => new Set(keys.map((k) => calculateSlot(k)));
    expect(slots([c.settled, c.sentLedger, c.held, c.stats, c.parked]).size).toBe(1);
    const l = redis.keys.limits;
    const id = randomUUID();
    const limits = [l.global, l.campaign(id), ...['fcm', 'apns', 'webpush'].flatMap((p) => [l.provider(p), l.campaignProvider(id, p)])];
    expect(slots(limits).size).toBe(1);
  });

  describe('planned', () => {
    it('counts a wave once however often it is planned, and sets last_wave on the last', async () => {
      const c = randomUUID();
      expect(await store.planned(c, 1, 500, false)).toEqual({ settled: 0, targeted: 500, lastWave: null });
      // A planner that crashed after counting runs again: nothing changes, even with another size.
      expect(await store.planned(c, 1, 500, false)).toEqual({ settled: 0, targeted: 500, lastWave: null });
      expect(await store.planned(c, 1, 499, false)).toEqual({ settled: 0, targeted: 500, lastWave: null });
      expect(await store.planned(c, 2, 120, true)).toEqual({ settled: 0, targeted: 620, lastWave: 2 });
      expect(await store.planned(c, 2, 120, true)).toEqual({ settled: 0, targeted: 620, lastWave: 2 });
      expect(await store.waveProgress(c, 1)).toEqual({ targeted: 500, settled: 0, holding: 0 });
      expect(await store.waveProgress(c, 2)).toEqual({ targeted: 120, settled: 0, holding: 0 });
      expect(await store.waveProgress(c, 3)).toEqual({ targeted: null, settled: 0, holding: 0 });
      expect(await store.summary(c)).toEqual({ settled: 0, targeted: 620, lastWave: 2 });
      const parsed = await readCampaignStats(redis.client, redis.keys, c);
      expect(parsed).toMatchObject({ targeted: 620, waves_planned: 2, final_wave: 2 });
      // A late replay of wave 1 does not lower the number of waves or unset the last one.
      await store.planned(c, 1, 500, false);
      expect(await stats(c)).toMatchObject({ waves: '2', last_wave: '2', targeted: '620' });
    });

    it('counts an empty last wave (the audience ended exactly at a wave boundary)', async () => {
      const c = randomUUID();
      await store.planned(c, 1, 3, false);
      expect(await store.planned(c, 2, 0, true, 5000)).toEqual({ settled: 0, targeted: 3, lastWave: 2 });
      // An empty wave is finished as soon as it is planned; a wave with recipients is not.
      const s = await stats(c);
      expect(s['w2:finished_at']).toBe('5000');
      expect(s['w1:finished_at']).toBeUndefined();
    });
  });

  describe('record', () => {
    it('counts each outcome once, per campaign, per wave and per provider', async () => {
      const c = randomUUID();
      await store.planned(c, 1, 6, true);
      const first = await store.record(
        c,
        1,
        [sent('1', 'fcm'), sent('2', 'apns'), sent('3', 'fcm'), other('4', 'invalid'), other('5', 'failed'), other('6', 'inactive')],
        WINDOW,
      );
      expect(first).toEqual({
        settled: 6,
        targeted: 6,
        lastWave: 1,
        recentTotal: 5,
        recentFailed: 1,
        recentInvalid: 1,
        // Only sends name their provider here: the failure and the invalid token count in the shared window only.
        byProvider: {
          fcm: { recentTotal: 2, recentFailed: 0, recentInvalid: 0 },
          apns: { recentTotal: 1, recentFailed: 0, recentInvalid: 0 },
        },
        counted: 6,
        judged: true,
        // All 6 recipients of wave 1 have an outcome now: this call finished it.
        finishedWave: true,
      });
      expect(await stats(c)).toMatchObject({
        sent: '3',
        'sent:fcm': '2',
        'sent:apns': '1',
        invalid: '1',
        failed: '1',
        inactive: '1',
        settled: '6',
        'w1:sent': '3',
        'w1:invalid': '1',
        'w1:failed': '1',
        'w1:inactive': '1',
        'w1:settled': '6',
      });
      expect(isCampaignDone(first)).toBe(true);
    });

    it('counts a device once across repeated calls and across outcomes: sent then failed stays sent', async () => {
      const c = randomUUID();
      await store.record(c, 1, [sent('7'), other('8', 'failed')], WINDOW);
      const again = await store.record(c, 1, [sent('7'), other('8', 'failed')], WINDOW);
      expect(again).toMatchObject({ settled: 2, counted: 0, recentTotal: 2, recentFailed: 1 });
      // A retry that comes back after the device was accepted, a worker that records it again as failed or invalid…
      const changed = await store.record(c, 1, [other('7', 'failed'), other('7', 'invalid'), sent('8', 'apns')], WINDOW);
      expect(changed).toMatchObject({ settled: 2, counted: 0, recentTotal: 2, recentFailed: 1 });
      // …and the same device twice in one call.
      expect(await store.record(c, 1, [sent('9'), sent('9'), other('9', 'failed')], WINDOW)).toMatchObject({ settled: 3, counted: 1 });
      const s = await stats(c);
      expect(s).toMatchObject({ sent: '2', 'sent:fcm': '2', failed: '1', settled: '3' });
      expect(s.invalid).toBeUndefined();
      expect(s['sent:apns']).toBeUndefined();
      const k = redis.keys.campaign(c);
      expect([await bit(k.sentLedger, 7), await bit(k.sentLedger, 8), await bit(k.sentLedger, 9)]).toEqual([1, 0, 1]);
    });

    it('lists exactly the unsettled ids, in the order given, ids above 1,000,000 included', async () => {
      const c = randomUUID();
      expect(await store.unsettled(c, [])).toEqual([]);
      expect(await store.unsettled(c, ['3', '1', '2'])).toEqual(['3', '1', '2']);
      await store.record(c, 1, [sent('1'), other('1000001', 'invalid'), other('12345678', 'inactive'), other('2000000', 'held')], WINDOW);
      const ids = ['2000000', '1000002', '1', '5', '1000001', '12345678', '999999', '1000000'];
      // Held is not final: 2,000,000 is still to be sent.
      expect(await store.unsettled(c, ids)).toEqual(['2000000', '1000002', '5', '999999', '1000000']);
      // Another campaign's ledger is its own.
      expect(await store.unsettled(randomUUID(), ids)).toEqual(ids);
    });

    it('counts a held device once as skipped, and takes it off `holding` when it settles', async () => {
      const c = randomUUID();
      await store.planned(c, 1, 4, false);
      await store.planned(c, 2, 2, true);
      await store.record(c, 1, [other('10', 'held'), sent('13')], WINDOW, 1000);
      expect((await stats(c))['w1:finished_at']).toBeUndefined();
      const held = await store.record(c, 1, [other('11', 'held'), other('12', 'held')], WINDOW, 2000);
      expect(held).toMatchObject({ settled: 1, counted: 0, recentTotal: 1 });
      expect(await store.waveProgress(c, 1)).toEqual({ targeted: 4, settled: 1, holding: 3 });
      // Every recipient of the wave settled or held: the wave is finished (held ones do not hold it back), once.
      expect((await stats(c))['w1:finished_at']).toBe('2000');
      // The same batch runs again (a retry, a restarted worker): still held, counted once.
      await store.record(c, 1, [other('10', 'held'), other('11', 'held'), other('12', 'held')], WINDOW, 3000);
      expect(await stats(c)).toMatchObject({ skipped: '3', 'w1:skipped': '3', 'w1:holding': '3', 'w1:finished_at': '2000' });
      // Released: one sent, one failed, one re-held by a late duplicate run (still counted once).
      await store.record(c, 1, [sent('10', 'apns'), other('11', 'failed'), other('12', 'held')], WINDOW);
      expect(await store.waveProgress(c, 1)).toEqual({ targeted: 4, settled: 3, holding: 1 });
      const done = await store.record(c, 1, [other('12', 'inactive')], WINDOW);
      expect(await store.waveProgress(c, 1)).toEqual({ targeted: 4, settled: 4, holding: 0 });
      expect(await stats(c)).toMatchObject({ skipped: '3', 'w1:skipped': '3', sent: '2', 'sent:apns': '1', failed: '1', inactive: '1' });
      // Settling it again does not drive `holding` below zero.
      await store.record(c, 1, [sent('10'), other('11', 'failed'), other('12', 'inactive')], WINDOW);
      expect(await store.waveProgress(c, 1)).toEqual({ targeted: 4, settled: 4, holding: 0 });
      expect(isCampaignDone(done)).toBe(false); // wave 2 has not settled
      const last = await store.record(c, 2, [sent('20'), sent('21')], WINDOW);
      expect(last).toMatchObject({ settled: 6, targeted: 6, lastWave: 2 });
      expect(isCampaignDone(last)).toBe(true);
    });

    it('takes failed recipients out of the ledger to be sent again: transient ones on resume, every failure on resend', async () => {
      const c = randomUUID();
      await store.planned(c, 1, 5, true);
      await store.record(
        c,
        1,
        [sent('1'), other('2', 'failed'), other('3', 'failed_transient'), other('4', 'invalid'), other('5', 'failed_transient')],
        WINDOW,
      );
      expect(await store.summary(c)).toEqual({ settled: 5, targeted: 5, lastWave: 1 });
      expect(await store.hasFailures(c, 'transient')).toBe(true);

      // A resume: only the transient ones come back; their failure is undone in the counters.
      expect(await store.reopen(c, 1, 'transient', ['1', '2', '3', '4', '5'])).toEqual(['3', '5']);
      expect(await stats(c)).toMatchObject({ failed: '1', 'w1:failed': '1', settled: '3', 'w1:settled': '3', resent: '2' });
      expect(await store.unsettled(c, ['1', '2', '3', '4', '5'])).toEqual(['3', '5']);
      expect(await store.hasFailures(c, 'transient')).toBe(false);
      // Asking again reopens nothing (idempotent).
      expect(await store.reopen(c, 1, 'transient', ['3', '5'])).toEqual([]);

      // Sent this time: counted once as sent.
      await store.record(c, 1, [sent('3'), sent('5')], WINDOW);
      expect(await stats(c)).toMatchObject({ sent: '3', failed: '1', settled: '5' });
      // The resend route: every failure (not the invalid token, not the sent ones).
      expect(await store.reopen(c, 1, 'failed', ['1', '2', '3', '4', '5'])).toEqual(['2']);
      expect(await store.summary(c)).toEqual({ settled: 4, targeted: 5, lastWave: 1 });
    });

    it("halves the guards' window when it passes its size, counting provider answers only (sent, failed, invalid, retried)", async () => {
      const c = randomUUID();
      const batch: RecordedOutcome[] = [
        ...['1', '2', '3', '4', '5', '6', '7', '8'].map((id) => sent(id)),
        ...['9', '10', '11'].map((id) => other(id, 'failed')),
        other('12', 'invalid'),
        other('13', 'inactive'),
        other('14', 'held'),
      ];
      // 8 sent + 3 failed + 1 invalid = 12 > 10: halved (rounded down) to 6, 1 and 0.
      expect(await store.record(c, 1, batch, 10)).toMatchObject({ recentTotal: 6, recentFailed: 1, recentInvalid: 0, counted: 13 });
      expect(await stats(c)).toMatchObject({ recent_total: '6', recent_failed: '1', recent_invalid: '0' });
      expect(await store.record(c, 1, [other('15', 'failed')], 10)).toMatchObject({ recentTotal: 7, recentFailed: 2 });
      // A retry is no outcome (nothing settled, counted every time) but the guards count it as a failure.
      expect(await store.record(c, 1, [other('16', 'retrying')], 10)).toMatchObject({ recentTotal: 8, recentFailed: 3, counted: 0 });
      expect(await store.unsettled(c, ['16'])).toEqual(['16']);
      expect(await store.record(c, 1, [other('16', 'failed')], 10)).toMatchObject({ recentTotal: 9, recentFailed: 4 });
      expect(await store.record(c, 1, [other('16', 'failed')], 10)).toMatchObject({ recentTotal: 9, recentFailed: 4, counted: 0 });
      // Exactly the window size is kept as it is.
      expect(
        await store.record(
          c,
          1,
          ['17'].map((id) => sent(id)),
          10,
        ),
      ).toMatchObject({ recentTotal: 10, recentFailed: 4 });
      await store.newGuardWindows(c);
      expect(await store.record(c, 1, [other('20', 'failed')], 10)).toMatchObject({ recentTotal: 1, recentFailed: 1 });
    });

    it("keeps each provider's own guards' window next to the shared one, halved on its own, reset with it", async () => {
      const c = randomUUID();
      // FCM down: its 4 recipients retried; APNs and Web Push answer; one failure with no provider (none configured).
      const batch: RecordedOutcome[] = [
        ...['1', '2', '3', '4'].map((id) => answer(id, 'retrying', 'fcm')),
        ...['5', '6', '7', '8'].map((id) => sent(id, 'apns')),
        sent('9', 'webpush'),
        answer('10', 'invalid', 'webpush'),
        other('11', 'failed'),
      ];
      const first = await store.record(c, 1, batch, 10);
      // 11 answers (4 retried, 5 sent, 1 invalid, 1 failed): the shared window passed 10 and was halved (rounded down)
      // to 5, 2 and 0; each provider's is below 10.
      expect(first).toMatchObject({ recentTotal: 5, recentFailed: 2, recentInvalid: 0, counted: 7 });
      expect(first.byProvider).toEqual({
        fcm: { recentTotal: 4, recentFailed: 4, recentInvalid: 0 },
        apns: { recentTotal: 4, recentFailed: 0, recentInvalid: 0 },
        webpush: { recentTotal: 2, recentFailed: 0, recentInvalid: 1 },
      });
      expect(await stats(c)).toMatchObject({ 'recent_total:fcm': '4', 'recent_failed:fcm': '4', 'recent_invalid:webpush': '1' });
      // Only the providers named in a call come back; FCM's window passes 10 on its own and is halved.
      const again = await store.record(
        c,
        1,
        ['1', '2', '3', '4', '12', '13', '14'].map((id) => answer(id, 'retrying', 'fcm')),
        10,
      );
      expect(again.byProvider).toEqual({ fcm: { recentTotal: 5, recentFailed: 5, recentInvalid: 0 } });
      const last = await store.record(c, 1, [answer('1', 'failed_transient', 'fcm'), sent('15', 'apns')], 10);
      expect(last.byProvider).toEqual({
        fcm: { recentTotal: 6, recentFailed: 6, recentInvalid: 0 },
        apns: { recentTotal: 5, recentFailed: 0, recentInvalid: 0 },
      });
      expect(await store.unsettled(c, ['1', '2'])).toEqual(['2']);
      await store.newGuardWindows(c);
      const fresh = await store.record(c, 1, [answer('2', 'retrying', 'fcm'), sent('16', 'webpush')], 10);
      expect(fresh).toMatchObject({ recentTotal: 2, recentFailed: 1 });
      expect(fresh.byProvider).toEqual({
        fcm: { recentTotal: 1, recentFailed: 1, recentInvalid: 0 },
        webpush: { recentTotal: 1, recentFailed: 0, recentInvalid: 0 },
      });
      expect(await stats(c)).toMatchObject({ 'recent_total:apns': '0', 'recent_invalid:webpush': '0' });
    });

    it('leaves answers to sends made before new windows out of them, and records them all the same', async () => {
      const c = randomUUID();
      await store.planned(c, 1, 6, true);
      // A batch reads the generations (0) and sends; meanwhile a resume starts new windows (generation 1).
      const generations = async () => {
        const { windowGeneration, guardGeneration } = await store.takeRateAndCheck([], Date.now(), c, [], SINGLE_PARTITION);
        return [windowGeneration, guardGeneration];
      };
      const [before] = await generations();
      expect(await generations()).toEqual([0, 0]);
      expect(await store.record(c, 1, [answer('1', 'failed')], WINDOW, Date.now(), SINGLE_PARTITION, before)).toMatchObject({
        recentTotal: 1,
        recentFailed: 1,
        judged: true,
      });
      await store.newGuardWindows(c);
      expect(await generations()).toEqual([1, 1]);
      expect(await store.guardGeneration(c)).toBe(1);
      const late = await store.record(
        c,
        1,
        [answer('2', 'failed'), answer('3', 'retrying'), answer('4', 'invalid'), sent('5', 'fcm')],
        WINDOW,
        Date.now(),
        SINGLE_PARTITION,
        before,
      );
      // Settled and counted as outcomes, not in the new windows (the shared one or FCM's), and said so.
      expect(late).toMatchObject({
        settled: 4,
        counted: 3,
        recentTotal: 0,
        recentFailed: 0,
        recentInvalid: 0,
        judged: false,
      });
      expect(late.byProvider).toEqual({});
      expect(await store.unsettled(c, ['2', '3', '4', '5'])).toEqual(['3']);
      expect(await stats(c)).toMatchObject({ failed: '2', invalid: '1', sent: '1', recent_total: '0', 'recent_total:fcm': '0' });
      // A batch that read the new generation is judged again.
      expect(await store.record(c, 1, [answer('6', 'failed')], WINDOW, Date.now(), SINGLE_PARTITION, 1)).toMatchObject({
        recentTotal: 1,
        recentFailed: 1,
        byProvider: { fcm: { recentTotal: 1, recentFailed: 1, recentInvalid: 0 } },
        judged: true,
      });
    });

    it.each([
      ['close together (masks: one byte span per bitmap)', 7],
      ['far apart (BITFIELD, in chunks of 1,000)', 100],
    ])('records 2,600 outcomes with ids %s exactly: duplicates in one call counted once, every ledger bit set', async (_, spacing) => {
      const c = randomUUID();
      await store.planned(c, 1, 2600, true);
      // 2,600 devices: 1,000 held first (a later call settles them), the rest sent, failed (transient every 3rd), invalid.
      const ids = Array.from({ length: 2600 }, (_, i) => String(1_000_003 + i * spacing));
      const heldIds = ids.slice(0, 1000);
      await store.record(
        c,
        1,
        heldIds.map((id) => other(id, 'held')),
        WINDOW,
      );
      const outcomes: RecordedOutcome[] = ids.map((id, i) =>
        i % 4 === 0
          ? sent(id)
          : i % 4 === 1
            ? answer(id, i % 3 === 0 ? 'failed_transient' : 'failed', 'apns')
            : i % 4 === 2
              ? answer(id, 'invalid', 'apns')
              : sent(id, 'webpush'),
      );
      // Every device twice in the same call (the second is not counted), and the held ones again (counted held once).
      const summary = await store.record(c, 1, [...outcomes, ...outcomes, ...heldIds.map((id) => other(id, 'held'))], WINDOW);
      expect(summary.counted).toBe(2600);
      const expectedFailed = ids.filter((_, i) => i % 4 === 1).length;
      const expectedTransient = ids.filter((_, i) => i % 4 === 1 && i % 3 === 0).length;
      expect(await stats(c)).toMatchObject({
        settled: '2600',
        sent: String(1300),
        'sent:fcm': '650',
        'sent:webpush': '650',
        failed: String(expectedFailed),
        invalid: '650',
        skipped: '1000',
        'w1:holding': '0',
      });
      expect(await store.unsettled(c, ids)).toEqual([]);
      const bitsOf = async (key: string, of: string[]) => {
        const all = await Promise.all(of.map((id) => redis.client.getbit(key, Number(id))));
        return all.reduce((n: number, b) => n + b, 0);
      };
      const k = redis.keys.campaign(c);
      expect(await bitsOf(k.sentLedger, ids)).toBe(1300);
      expect(await bitsOf(k.failed, ids)).toBe(expectedFailed);
      expect(await bitsOf(k.transient, ids)).toBe(expectedTransient);
      expect(await bitsOf(k.held, ids)).toBe(1000);
      // The transient ones are what a resume reopens.
      expect((await store.reopen(c, 1, 'transient', ids)).length).toBe(expectedTransient);
    });

    it('counts the same outcomes alike whether they go as masks (close ids) or as pairs (far apart)', async () => {
      // Seeded pseudo-random calls of 300 outcomes over 200 devices: sends, failures, retries, held, repeats in a call.
      let seed = 12345;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const kinds: Array<(id: string) => RecordedOutcome> = [
        (id) => sent(id),
        (id) => sent(id, 'apns'),
        (id) => ({ deviceId: id, outcome: 'failed', provider: 'fcm' }),
        (id) => ({ deviceId: id, outcome: 'failed_transient', provider: 'apns' }),
        (id) => ({ deviceId: id, outcome: 'invalid', provider: 'webpush' }),
        (id) => ({ deviceId: id, outcome: 'retrying', provider: 'fcm' }),
        (id) => other(id, 'inactive'),
        (id) => other(id, 'held'),
        (id) => other(id, 'held'),
      ];
      const calls = Array.from({ length: 6 }, () => Array.from({ length: 300 }, () => [rand(200), rand(kinds.length)] as const));
      const run = async (spacing: number) => {
        const c = randomUUID();
        await store.planned(c, 1, 200, true);
        const summaries = [];
        for (const call of calls) {
          const outcomes = call.map(([device, kind]) => (kinds[kind] as (id: string) => RecordedOutcome)(String(5 + device * spacing)));
          summaries.push(await store.record(c, 1, outcomes, 50, 1000));
        }
        const ids = Array.from({ length: 200 }, (_, d) => String(5 + d * spacing));
        const k = redis.keys.campaign(c);
        const ledger = await Promise.all(
          [k.settled, k.sentLedger, k.held, k.failed, k.transient].map((key) => Promise.all(ids.map((id) => bit(key, Number(id))))),
        );
        return {
          summaries,
          stats: await stats(c),
          ledger,
          unsettled: (await store.unsettled(c, ids)).map((id) => (Number(id) - 5) / spacing),
        };
      };
      const close = await run(1);
      const far = await run(1000);
      expect(close).toEqual(far);
      expect(close.stats.settled).toBe(String(200 - close.unsettled.length));
    });

    it("sees its own record in the merged view when the server's script cache lost the record script", async () => {
      // A server of its own (SCRIPT FLUSH on the shared one would take every other suite's scripts too).
      const server = await startPrivateRedis({ persistent: false });
      const client = createRedisClient({ url: server.url }, { name: 'test-noscript' });
      try {
        await waitUntilReady(client, 10_000);
        const own = new DispatchStore(client, redis.keys);
        const c = randomUUID();
        await own.pinPartitions(c, 2);
        await own.planned(c, 1, 4, true, 1000);
        const p0 = { index: 0, of: 2 };
        const p1 = { index: 1, of: 2 };
        expect(await own.record(c, 1, [sent('0'), sent('2')], WINDOW, 2000, p0)).toMatchObject({ settled: 2, counted: 2 });
        // Flushed (or evicted: Redis 7.4 evicts scripts loaded by EVAL): the last batch still sees itself, so the wave
        // is finished and the campaign done.
        await client.script('FLUSH');
        const last = await own.record(c, 1, [sent('1'), sent('3')], WINDOW, 3000, p1);
        expect(last).toMatchObject({ settled: 4, targeted: 4, lastWave: 1, counted: 2 });
        expect(isCampaignDone(last)).toBe(true);
        expect(await client.hget(redis.keys.campaign(c).stats, 'w1:finished_at')).toBe('3000');
      } finally {
        await closeRedisClient(client);
        await server.close();
      }
    });

    it('refuses an unknown outcome code before writing anything', async () => {
      const c = randomUUID();
      await expect(store.record(c, 1, [{ deviceId: '1', outcome: 'sent', provider: '' }], 10)).rejects.toThrow(/unknown outcome s:/);
      expect(await store.unsettled(c, ['1'])).toEqual(['1']);
    });

    it('marks the campaign dirty for the write-behind flush', async () => {
      await store.takeDirty(10_000);
      const [a, b] = [randomUUID(), randomUUID()];
      await store.record(a, 1, [sent('1')], WINDOW);
      await store.record(a, 1, [sent('2')], WINDOW);
      await store.markDirty(b);
      await store.markDirty(b);
      const first = await store.takeDirty(1);
      expect(first).toHaveLength(1);
      const rest = await store.takeDirty(10);
      expect([...first, ...rest].sort()).toEqual([a, b].sort());
      expect(await store.takeDirty(10)).toEqual([]);
    });
  });

  describe('isCampaignDone', () => {
    it('needs the last wave planned and every recipient settled', () => {
      expect(isCampaignDone({ settled: 10, targeted: 10, lastWave: null })).toBe(false);
      expect(isCampaignDone({ settled: 9, targeted: 10, lastWave: 3 })).toBe(false);
      expect(isCampaignDone({ settled: 10, targeted: 10, lastWave: 3 })).toBe(true);
      expect(isCampaignDone({ settled: 0, targeted: 0, lastWave: 1 })).toBe(true);
    });
  });

  describe('takeRate', () => {
    // A fresh stretch of simulated time per test, far from the previous ones: old bucket state is in the past.
    let base = Date.parse('2030-01-01T00:00:00Z');
    const clock = () => (base += 86_400_000);
    const bucket = async (key: string) => {
      const [tat, factor, blocked, rate] = await redis.client.hmget(key, 'tat', 'factor', 'blocked_until', 'rate');
      const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
      return { tat: num(tat), factor: num(factor), blocked: num(blocked), rate: num(rate) };
    };

    it('takes anything when no limit applies', async () => {
      const t = clock();
      const c = redis.keys.limits.campaign(randomUUID());
      expect(await store.takeRate([], t)).toBe(0);
      expect(await store.takeRate([{ key: c, count: 1_000_000, perMinute: null }], t)).toBe(0);
      expect(await store.takeRate([{ key: c, count: 500, perMinute: null }], t)).toBe(0);
      expect(await redis.client.exists(c)).toBe(0);
    });

    it('takes the rate and checks a batch against the ledger in one call, as takeRate and unsettled do', async () => {
      const t = clock();
      const c = randomUUID();
      const partition = { index: 1, of: 3 };
      // Close ids (one byte span) and far ones (BITFIELD), some settled.
      const close = Array.from({ length: 40 }, (_, i) => String(1 + 3 * (1000 + i)));
      const far = Array.from({ length: 40 }, (_, i) => String(1 + 3 * 100_000 * i));
      await store.record(
        c,
        1,
        [...close, ...far].filter((_, i) => i % 3 === 0).map((id) => sent(id)),
        WINDOW,
        t,
        partition,
      );
      const limit = redis.keys.limits.campaign(c);
      for (const ids of [close, far]) {
        const expected = await store.unsettled(c, ids, partition);
        expect(expected.length).toBeGreaterThan(0);
        expect(expected.length).toBeLessThan(ids.length);
        expect(await store.takeRateAndCheck([{ key: limit, count: 1, perMinute: 60 }], t, c, ids, partition)).toEqual({
          wait: 0,
          unsettled: expected,
          windowGeneration: 0,
          guardGeneration: 0,
        });
      }
      // The bucket is booked: the next take waits and takes nothing; the ledger is read all the same.
      const refused = await store.takeRateAndCheck([{ key: limit, count: 1, perMinute: 60 }], t, c, close, partition);
      expect(refused.wait).toBeGreaterThan(0);
      expect(refused.unsettled).toEqual(await store.unsettled(c, close, partition));
      expect(await store.takeRateAndCheck([], t, c, [], partition)).toEqual({
        wait: 0,
        unsettled: [],
        windowGeneration: 0,
        guardGeneration: 0,
      });
      await store.newGuardWindows(c); // the campaign's own partition (it has no layout pinned), then the campaign's
      expect(await store.takeRateAndCheck([], t, c, close, SINGLE_PARTITION)).toMatchObject({ windowGeneration: 1, guardGeneration: 1 });
    });

    it('at 600/min lets a one-second burst through, then one message per 100 ms', async () => {
      let t = clock();
      const take = (count: number) => store.takeRate([{ key: redis.keys.limits.campaign('burst'), count, perMinute: 600 }], t);
      // GCRA: a request fits while the bucket is booked at most RATE_BURST_MS ahead: 0, 100, … 1000 ms → 11 single sends.
      expect(RATE_BURST_MS).toBe(1000);
      const accepted: number[] = [];
      for (let i = 0; i < 15; i++) accepted.push(await take(1));
      expect(accepted).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 100, 100, 100]);
      // Refused requests took nothing: after the wait, one fits and the next waits again.
      t += 100;
      expect(await take(1)).toBe(0);
      expect(await take(1)).toBe(100);
      // Ten at a time: about a second apart.
      t += 100;
      expect(await take(10)).toBe(0);
      expect(await take(10)).toBe(1000);
      t += 999;
      expect(await take(10)).toBe(1);
      t += 1;
      expect(await take(10)).toBe(0);
      expect(await take(10)).toBe(1000);
      // Over a simulated minute of asking whenever told, about 600 go through (plus the burst).
      let total = 0;
      const end = t + 60_000;
      while (t < end) {
        const wait = await take(10);
        if (wait === 0) total += 10;
        else t += wait;
      }
      expect(total).toBeGreaterThanOrEqual(590);
      expect(total).toBeLessThanOrEqual(620);
    });

    it('takes from all eight buckets or from none', async () => {
      const t = clock();
      const c = randomUUID();
      const l = redis.keys.limits;
      // Provider names of this test's own, so the system's provider buckets start empty.
      const p = (name: string) => `${name}-${c.slice(0, 8)}`;
      const keys = {
        global: l.global,
        fcm: l.provider(p('fcm')),
        apns: l.provider(p('apns')),
        webpush: l.provider(p('webpush')),
        campaign: l.campaign(c),
        campaignFcm: l.campaignProvider(c, 'fcm'),
        campaignApns: l.campaignProvider(c, 'apns'),
        campaignWebpush: l.campaignProvider(c, 'webpush'),
      };
      const takes = (count: number) => [
        { key: keys.global, count, perMinute: 60_000 }, // 1 ms a message
        { key: keys.fcm, count, perMinute: 600 }, // 100 ms
        { key: keys.apns, count: 0, perMinute: 600 }, // nothing to take
        { key: keys.webpush, count, perMinute: null }, // no limit
        { key: keys.campaign, count, perMinute: 6000 }, // 10 ms
        { key: keys.campaignFcm, count, perMinute: 1200 }, // 50 ms
        { key: keys.campaignApns, count: 0, perMinute: null },
        { key: keys.campaignWebpush, count, perMinute: 3000 }, // 20 ms
      ];
      const tats = async () =>
        Promise.all([keys.global, keys.fcm, keys.campaign, keys.campaignFcm, keys.campaignWebpush].map(async (k) => (await bucket(k)).tat));
      expect(await store.takeRate(takes(10), t)).toBe(0);
      expect(await tats()).toEqual([t + 10, t + 1000, t + 100, t + 500, t + 200]);
      expect(await store.takeRate(takes(10), t + 1)).toBe(0);
      expect(await tats()).toEqual([t + 20, t + 2000, t + 200, t + 1000, t + 400]);
      // The system's FCM bucket is booked 1,998 ms ahead: wait 998 ms. The others have room, but none is advanced.
      expect(await store.takeRate(takes(10), t + 2)).toBe(998);
      expect(await tats()).toEqual([t + 20, t + 2000, t + 200, t + 1000, t + 400]);
      // A bucket with nothing to take, or no rate, is never written.
      for (const k of [keys.apns, keys.webpush, keys.campaignApns]) expect(await redis.client.exists(k)).toBe(0);
      // When several buckets must wait, the longest wait is the answer.
      const [a, b] = [l.campaign(randomUUID()), l.campaign(randomUUID())];
      expect(await store.takeRate([{ key: a, count: 30, perMinute: 600 }], t)).toBe(0); // 3 s ahead
      expect(await store.takeRate([{ key: b, count: 15, perMinute: 600 }], t)).toBe(0); // 1.5 s ahead
      const both = [
        { key: a, count: 1, perMinute: 600 },
        { key: b, count: 1, perMinute: 600 },
      ];
      expect(await store.takeRate(both, t)).toBe(2000);
      expect(await store.takeRate([...both].reverse(), t)).toBe(2000);
      await expect(store.takeRate([...takes(1), takes(1)[0]!], t)).rejects.toThrow(/at most 8/);
    });

    it('reads only the buckets that can hold a batch: those with a rate, and every provider bucket (a 429 blocks it)', async () => {
      const t = clock();
      const c = randomUUID();
      const l = redis.keys.limits;
      const fcm = `fcm-${c.slice(0, 8)}`;
      const takes = [
        { key: l.global, count: 500, perMinute: null },
        { key: l.campaign(c), count: 500, perMinute: null },
        { key: l.provider(fcm), count: 500, perMinute: null },
        { key: l.campaignProvider(c, 'fcm'), count: 500, perMinute: null },
        { key: l.campaignProvider(c, 'apns'), count: 500, perMinute: 600_000 },
      ];
      // What the script reads, as the server runs it (MONITOR shows a script's own commands), on every master.
      const nodes = redis.client instanceof Cluster ? redis.client.nodes('master') : [redis.client];
      const monitors = await Promise.all(nodes.map((node) => node.monitor()));
      const marker = `${l.global}:marker-${c}`;
      const reads: string[] = [];
      const seen = new Promise<void>((resolve) => {
        for (const monitor of monitors) {
          monitor.on('monitor', (_time: string, args: string[]) => {
            if (args[1] === marker) resolve();
            else if (args[0]?.toLowerCase() === 'hmget' && (args[1]?.includes(c) || args[1] === l.global || args[1] === l.provider(fcm)))
              reads.push(args[1]);
          });
        }
      });
      try {
        expect(await store.takeRate(takes, t)).toBe(0);
        await redis.client.exists(marker); // after the script on the same node: once it is seen, so are the reads
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('MONITOR never showed the marker')), 10_000);
        });
        await Promise.race([seen, bound]).finally(() => clearTimeout(timer));
      } finally {
        for (const m of monitors) m.disconnect();
      }
      expect(reads.sort()).toEqual([l.provider(fcm), l.campaignProvider(c, 'apns')].sort());
      // A provider bucket without a rate still holds a batch while a 429 blocks it.
      await store.penalise(fcm, 5000, t);
      expect(await store.takeRate(takes, t)).toBe(5000);
    });

    it('re-times what was booked ahead when the rate changes (an SRE raised or lowered it)', async () => {
      const t = clock();
      const key = redis.keys.limits.campaign(randomUUID());
      const take = (count: number, perMinute: number) => store.takeRate([{ key, count, perMinute }], t);
      expect(await take(20, 600)).toBe(0); // booked 2 s ahead
      expect(await take(1, 600)).toBe(1000);
      // Raised to 6,000/min: the 2 s booked become 0.2 s, so it fits at once (and books 10 ms more).
      expect(await take(1, 6000)).toBe(0);
      expect(await bucket(key)).toMatchObject({ tat: t + 210, rate: 6000 });
      // Lowered to 60/min: the 210 ms booked become 21 s; refused, so nothing is rewritten.
      expect(await take(1, 60)).toBe(20_000);
      expect(await bucket(key)).toMatchObject({ tat: t + 210, rate: 6000 });
    });

    it('penalise blocks a provider for the Retry-After and halves its factor, not below 0.05', async () => {
      const t = clock();
      const p = `blocked-${randomUUID().slice(0, 8)}`;
      const key = redis.keys.limits.provider(p);
      expect(await store.penalise(p, 30_000, t)).toBe(0.5);
      expect(await store.takeRate([{ key, count: 1, perMinute: 600 }], t + 1000)).toBe(29_000);
      // Blocked even without a rate: the provider said to stop.
      expect(await store.takeRate([{ key, count: 1, perMinute: null }], t + 29_999)).toBe(1);
      // Nothing was taken meanwhile.
      expect((await bucket(key)).tat).toBeNull();
      // Another 429 with a shorter Retry-After does not shorten the block; the factor halves each time, down to 0.05.
      expect(await store.penalise(p, 1000, t + 10)).toBe(0.25);
      expect(await store.takeRate([{ key, count: 1, perMinute: 600 }], t + 20_000)).toBe(10_000);
      expect(await store.penalise(p, 0, t + 11)).toBe(0.125);
      expect(await store.penalise(p, 0, t + 12)).toBe(0.0625);
      expect(await store.penalise(p, 0, t + 13)).toBe(0.05);
      expect(await store.penalise(p, 0, t + 14)).toBe(0.05);
      expect(await store.takeRate([{ key, count: 1, perMinute: 600 }], t + 30_000)).toBe(0);
      // Slowed: one message at 0.05 × 1.05 of 600/min books about 1.9 s (Lua keeps 14 significant digits: 0.1 ms).
      expect((await bucket(key)).tat).toBeCloseTo(t + 30_000 + 60_000 / (600 * 0.05 * 1.05), 0);
    });

    it('recovers a penalised bucket by 5 % per accepted take once the block is over, up to 1', async () => {
      const t = clock();
      const p = `recover-${randomUUID().slice(0, 8)}`;
      const key = redis.keys.limits.provider(p);
      await store.penalise(p, 5000, t);
      // While blocked, refused takes do not recover it.
      for (let i = 0; i < 5; i++) expect(await store.takeRate([{ key, count: 1, perMinute: null }], t + 1000)).toBe(4000);
      expect((await bucket(key)).factor).toBe(0.5);
      for (let n = 1; n <= 14; n++) {
        expect(await store.takeRate([{ key, count: 1, perMinute: null }], t + 5000 + n)).toBe(0);
        expect((await bucket(key)).factor).toBeCloseTo(0.5 * 1.05 ** n, 9);
      }
      expect(await store.takeRate([{ key, count: 1, perMinute: null }], t + 6000)).toBe(0);
      expect((await bucket(key)).factor).toBe(1);
      expect(await store.takeRate([{ key, count: 1, perMinute: null }], t + 6001)).toBe(0);
      expect((await bucket(key)).factor).toBe(1);
    });

    // A refused take (another bucket made it wait) takes nothing: not even the penalised bucket's recovery.
    it('does not recover a penalised bucket on a refused take (another bucket made it wait)', async () => {
      const t = clock();
      const p = `refused-${randomUUID().slice(0, 8)}`;
      const key = redis.keys.limits.provider(p);
      const campaign = redis.keys.limits.campaign(randomUUID());
      await store.penalise(p, 1000, t);
      // The campaign bucket is full for the next 99 s.
      expect(await store.takeRate([{ key: campaign, count: 100, perMinute: 60 }], t)).toBe(0);
      const takes = [
        { key: campaign, count: 1, perMinute: 60 },
        { key, count: 1, perMinute: null },
      ];
      for (let i = 0; i < 10; i++) expect(await store.takeRate(takes, t + 2000 + i)).toBeGreaterThan(0);
      // Expected: 0.5 (no take was accepted). Actual: 0.5 × 1.05^10 ≈ 0.81.
      expect((await bucket(key)).factor).toBe(0.5);
    });
  });

  describe('parked jobs', () => {
    it('remembers each parked job once and hands them all over once', async () => {
      const c = randomUUID();
      await store.park(c, 'send', `${c}.w1.b1`);
      await store.park(c, 'send', `${c}.w1.b1`);
      await store.park(c, 'send', `${c}.w1.b2.h1774764000000`);
      await store.park(c, 'plan', `${c}.p2`);
      await store.park(randomUUID(), 'send', 'someone-else');
      const taken = await store.takeParked(c);
      const byId = (a: { jobId: string }, b: { jobId: string }) => a.jobId.localeCompare(b.jobId);
      expect(taken.sort(byId)).toEqual(
        [
          { queue: 'send', jobId: `${c}.w1.b1` },
          { queue: 'send', jobId: `${c}.w1.b2.h1774764000000` },
          { queue: 'plan', jobId: `${c}.p2` },
        ].sort(byId),
      );
      expect(await store.takeParked(c)).toEqual([]);
    });
  });
});
