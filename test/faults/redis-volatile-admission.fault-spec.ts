/**
 * Redis WITHOUT persistence restarted (empty) in the middle of a surge of admissions: the line (ticket counter,
 * liveness bits), the sessions and the room's hot copy of its settings are gone; PostgreSQL still has the room.
 * - Until a gateway rewrites the hot copy from PostgreSQL (its full reload, every 30 s) the room answers 503 ("not
 *   ready yet"); the people retry with what they hold.
 * - Then a ticket of the lost line is no longer valid: its holder is answered with a new ticket at the end of the new
 *   line (re-queued); a token whose session is gone gets the waiting room (its holder waits again). Everybody gets
 *   in, and the sessions never exceed the room's capacity.
 */
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/processes';
import { recordFigures } from './support/figures';
import { startGatewayRig, type GatewayRig } from './support/gateway-rig';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis';
import { Surge } from './support/surge-users';

const CAPACITY = 20;
const PEOPLE = 200;
const ARRIVAL_MS = 15;
const VISIT_MS = 800;

describe('Redis without persistence restarted (empty) mid-surge of admissions', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let rig: GatewayRig;
  let small: GatewayRig;

  beforeAll(async () => {
    [db, redis] = await Promise.all([createTestDatabase(), startPrivateRedis({ persistent: false })]);
    rig = await startGatewayRig({
      databaseUrl: db.url,
      redisUrl: redis.url,
      settings: { totalActiveUsers: CAPACITY, sessionDurationSeconds: 60 },
    });
    small = await startGatewayRig({ databaseUrl: db.url, redisUrl: redis.url, roomId: 'one', settings: { totalActiveUsers: 1 } });
  });

  afterAll(async () => {
    await Promise.all([rig?.close(), small?.close()]);
    await Promise.all([redis?.close(), db?.drop()]);
  });

  it('the room comes back from PostgreSQL; holders of the lost line are re-queued; everybody gets in, never above capacity', async () => {
    const { client, roomId } = rig;
    const surge = new Surge({ gatewayUrl: rig.gateway.url, roomId, visitMs: VISIT_MS, pollMs: 250, deadlineMs: 120_000 });
    const room = rig.keys.room(roomId);
    let peak = 0;
    let sampling = true;
    let configBackAt: number | null = null;
    let restartedAt: number | null = null;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 100_000; i++) {
        const [live, config] = await Promise.all([
          client.zcount(room.sessions, Date.now(), '+inf').catch(() => null),
          client.exists(room.config).catch(() => null),
        ]);
        if (live !== null) peak = Math.max(peak, live);
        if (config === 1 && configBackAt === null && restartedAt !== null) configBackAt = Date.now();
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
    const waitingAtKill = surge.users.filter((u) => u.admittedSeq === null && u.ticket !== null).length;
    await waitFor(() => surge.errorCount(503) > 0, 15_000, 'a 503 from the gateway while Redis is down');
    await redis.start();
    restartedAt = Date.now();
    await arrivals;
    await Promise.all(people);
    sampling = false;
    await sampler;

    const failures = surge.users.filter((u) => u.failure !== null).map((u) => `${u.index}: ${u.failure}`);
    const admitted = surge.admitted();
    const requeued = surge.users.filter((u) => u.requeued > 0).length;
    const sessionsLost = surge.users.reduce((n, u) => n + u.sessionsLost, 0);
    const shared = surge.sharedSessions();
    expect(waitingAtKill).toBeGreaterThan(0);
    expect(failures).toEqual([]);
    expect(admitted).toBe(PEOPLE);
    expect(peak).toBeLessThanOrEqual(CAPACITY);
    // The lost line's holders were told to queue again (a new ticket), not left waiting on a place nobody holds.
    expect(requeued).toBeGreaterThan(0);
    expect(configBackAt).not.toBeNull();
    recordFigures('redis-volatile-admission', {
      fault: 'Redis WITHOUT persistence restarted empty mid-surge of admissions (line, sessions, hot copy lost)',
      lost: PEOPLE - admitted,
      duplicated: shared,
      overCapacity: Math.max(0, peak - CAPACITY),
      completed: admitted === PEOPLE,
      extra: {
        people: PEOPLE,
        capacity: CAPACITY,
        peakSessions: peak,
        waitingAtKill,
        requeued,
        sessionsLost,
        answered503: surge.errorCount(503),
        roomBackAfterRestartS: (((configBackAt ?? 0) - (restartedAt ?? 0)) / 1000).toFixed(1),
      },
    });
  }, 200_000);

  /*
   * KNOWN DEFECT (the check is marked `failing`: it passes while the defect is there and fails once it is fixed; then
   * drop the marker). Ticket numbers restart at 1 in a line that Redis lost, and a ticket is only checked against the
   * counter (`status-9`: invalid if above it). So a ticket of the lost line whose number the new line has reached
   * again is taken for the new holder's ticket: its old holder shares the new holder's place (and, once admitted,
   * the session `t<number>`), two people on one place. The surge above counts such shared sessions (`duplicated`).
   * A fix: tell lines apart (a line id created with the counter, in the ticket's MAC and in line sessions' ids).
   */
  describe('a ticket of the lost line', () => {
    let old = '';
    let answer: Record<string, unknown> = {};

    it('plays it: one inside and ticket 1 waiting; Redis restarts empty; a newcomer goes in, the next gets ticket 1 again', async () => {
      const { roomId, gateway, client } = small;
      const page = (headers: Record<string, string> = {}) =>
        fetch(`${gateway.url}/${roomId}/page`, { headers: { accept: 'application/json', ...headers } });
      const ticketOf = async (res: Response) => ((await res.json()) as { ticket: string }).ticket;

      expect((await page()).headers.get('x-origin')).toBe('fake');
      old = await ticketOf(await page());
      expect(old.split('.')[1]).toBe('1');

      await redis.kill();
      await redis.start();
      await waitFor(async () => (await client.exists(small.keys.room(roomId).config).catch(() => 0)) === 1, 60_000, 'the hot copy back');
      expect((await page()).headers.get('x-origin')).toBe('fake');
      const fresh = await ticketOf(await page());
      expect(fresh.split('.')[1]).toBe('1');

      const res = await fetch(`${gateway.url}/rooms/${roomId}/status`, {
        headers: { accept: 'application/json', 'x-tidegate-ticket': old },
      });
      expect(res.status).toBe(200);
      answer = (await res.json()) as Record<string, unknown>;
      expect(answer.inWaitingRoom).toBe(true);
    });

    // KNOWN DEFECT, see above: passes while the old holder is handed the new ticket 1's place.
    it.failing("is re-queued with a ticket of its own, never taken for the new line's ticket of the same number", () => {
      expect(answer.ticket).toEqual(expect.any(String));
      expect(answer.ticket).not.toBe(old);
    });
  });
});
