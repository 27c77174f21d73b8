/**
 * Redis with AOF (`appendfsync everysec`) killed in the middle of a surge of admissions and started again on the same
 * port and folder. A gateway process (the built dist/) in front of a small room; a couple of hundred people arrive
 * over a few seconds, wait in line (checking in with their ticket), visit the origin and leave. While Redis is down
 * the gateway answers 503 (the waiting room unavailable, retry shortly) and the people retry with the same ticket.
 * Afterwards: everyone got in, each with a session of their own (nobody admitted twice), the admitted sessions never
 * above the room's capacity, and nobody who kept checking in was overtaken by a later ticket.
 */
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/processes';
import { recordFigures } from './support/figures';
import { startGatewayRig, type GatewayRig } from './support/gateway-rig';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis';
import { Surge } from './support/surge-users';

const CAPACITY = 20;
const PEOPLE = 200;
/** One newcomer every ARRIVAL_MS: the surge lasts a few seconds, so the kill lands in it. */
const ARRIVAL_MS = 15;
/** Each visit holds its place this long: the room lets about CAPACITY / VISIT_MS people in, so a line builds up. */
const VISIT_MS = 800;

describe('Redis with AOF restarted mid-surge of admissions', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let rig: GatewayRig;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), startPrivateRedis({ persistent: true })]);
    rig = await startGatewayRig({
      databaseUrl: db.url,
      redisUrl: redis.url,
      settings: { totalActiveUsers: CAPACITY, sessionDurationSeconds: 60 },
    });
  });

  afterAll(async () => {
    await rig?.close();
    await Promise.all([redis?.close(), db?.drop()]);
  });

  it('everyone gets in once, never above capacity, in ticket order, across the restart', async () => {
    const { client, roomId } = rig;
    const surge = new Surge({ gatewayUrl: rig.gateway.url, roomId, visitMs: VISIT_MS, pollMs: 250, deadlineMs: 120_000 });
    const sessionsKey = rig.keys.room(roomId).sessions;
    // Live sessions and reservations, sampled while the surge lasts (nothing while Redis is down).
    let peak = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 100_000; i++) {
        const live = await client.zcount(sessionsKey, Date.now(), '+inf').catch(() => null);
        if (live !== null) {
          peak = Math.max(peak, live);
          samples++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const people: Array<Promise<unknown>> = [];
    const arrivals = (async () => {
      for (let i = 0; i < PEOPLE; i++) {
        people.push(surge.arrive());
        await new Promise((r) => setTimeout(r, ARRIVAL_MS));
      }
    })();
    await waitFor(() => surge.admitted() >= PEOPLE / 4, 60_000, 'a quarter of the people admitted');
    await redis.kill();
    const admittedAtKill = surge.admitted();
    const waitingAtKill = surge.users.filter((u) => u.admittedSeq === null && u.ticket !== null).length;
    // Down until the people notice: the gateway answers them 503.
    await waitFor(() => surge.errorCount(503) > 0, 15_000, 'a 503 from the gateway while Redis is down');
    await redis.start();
    await arrivals;
    await Promise.all(people);
    sampling = false;
    await sampler;

    const failures = surge.users.filter((u) => u.failure !== null).map((u) => `${u.index}: ${u.failure}`);
    const admitted = surge.admitted();
    const shared = surge.sharedSessions();
    const inversions = surge.fifoInversions();
    const requeued = surge.users.filter((u) => u.requeued > 0).length;
    const sessionsLost = surge.users.reduce((n, u) => n + u.sessionsLost, 0);
    const unexpected = surge.users.flatMap((u) => Object.keys(u.errors).filter((s) => s !== '503'));
    expect(failures).toEqual([]);
    // The kill landed while people were in line.
    expect(waitingAtKill).toBeGreaterThan(0);
    expect(admitted).toBe(PEOPLE);
    expect(shared).toBe(0);
    expect(peak).toBeLessThanOrEqual(CAPACITY);
    expect(samples).toBeGreaterThan(0);
    expect(requeued).toBe(0);
    expect(sessionsLost).toBe(0);
    expect(inversions).toBe(0);
    expect(unexpected).toEqual([]);
    recordFigures('redis-aof-sigkill-admission', {
      fault: 'Redis (AOF everysec) SIGKILLed mid-surge of admissions, restarted',
      lost: PEOPLE - admitted,
      duplicated: shared,
      overCapacity: Math.max(0, peak - CAPACITY),
      completed: admitted === PEOPLE,
      extra: {
        people: PEOPLE,
        capacity: CAPACITY,
        peakSessions: peak,
        admittedAtKill,
        waitingAtKill,
        answered503: surge.errorCount(503),
        requeued,
        fifoInversions: inversions,
      },
    });
  }, 200_000);
});
