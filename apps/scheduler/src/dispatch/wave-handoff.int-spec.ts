/**
 * The hand-off between waves: wave k waits for wave k − WAVES_IN_FLIGHT to finish, and the batch that finishes that
 * wave runs k's planner at once, instead of leaving it to look again WAVE_POLL_MS later (the send queue would run
 * dry meanwhile). Real PostgreSQL, Redis and BullMQ; BullMQ's workers are not running, so a woken planner stays in
 * the plan queue's waiting list, where the test finds it.
 */
import { batchJobId, planJobId } from '@tidegate/domain';
import {
  FakeJob,
  insertDevices,
  insertRunningCampaign,
  dispatchScenarioPerFile,
  type DispatchScenario,
} from '../../../../test/support/dispatch-scenario';
import { WAVES_IN_FLIGHT } from './wave-planner';

const HOUR_MS = 3_600_000;

describe('the hand-off between waves', () => {
  const scenario = dispatchScenarioPerFile('2026-06-01T12:00:00Z');
  let s: DispatchScenario;

  beforeAll(() => {
    s = scenario();
  });

  it('the batch that finishes a wave runs the planner waiting for it; an earlier batch of the wave does not', async () => {
    const devices = await insertDevices(s.prisma, ['UTC', 'UTC', 'UTC']);
    const ids = devices.map((d) => d.id);
    const id = await insertRunningCampaign(s.prisma, { deviceIds: ids, batchSize: 2, waveSize: 3 });
    await s.store.planned(id, 1, 3, false);
    // Wave 1 + WAVES_IN_FLIGHT's planner looked, found wave 1 unfinished, and waits (here: an hour, to be plain).
    const waiting = planJobId(id, 1 + WAVES_IN_FLIGHT);
    await s.planQueue.add(
      'plan-wave',
      { campaignId: id, wave: 1 + WAVES_IN_FLIGHT, dueAt: s.clock.ms },
      { jobId: waiting, delay: HOUR_MS },
    );
    const send = (batch: number, deviceIds: string[]) => {
      const data = { campaignId: id, wave: 1, batch, deviceIds, attempt: 0, platforms: { fcm: deviceIds.length, apns: 0, webpush: 0 } };
      return s.sender.run(data, new FakeJob(batchJobId(id, 1, batch), data));
    };

    expect(await send(1, ids.slice(0, 2))).toMatchObject({ kind: 'sent', sent: 2 });
    expect(await (await s.planQueue.getJob(waiting))?.getState()).toBe('delayed');

    expect(await send(2, ids.slice(2))).toMatchObject({ kind: 'sent', sent: 1 });
    expect(await (await s.planQueue.getJob(waiting))?.getState()).toBe('waiting');
  });
});
