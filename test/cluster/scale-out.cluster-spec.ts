/**
 * Scale-out, every app its own process on one Redis (a 6-node Cluster under `npm run test:cluster`): the scheduler
 * api, two workers, two gateways and two ws apps (the sharded socket.io adapter), with the push fakes and a fake
 * origin on loopback.
 * - A campaign of a few thousand devices: both workers send, each device gets exactly one message, the stats agree.
 * - A surge into a small room: a few hundred people arrive through both gateways and wait on sockets held by both ws
 *   apps; places are freed through one gateway, then the other. Everyone is let in, in ticket order, never more than
 *   the room holds; each waiting socket is told its exact place after every step and hears of its turn on its own
 *   socket, whichever ws process holds it and whichever gateway freed the place.
 */
import { Cluster } from 'ioredis';
import { PrismaService } from '@tidegate/database';
import type { RedisClient } from '@tidegate/redis';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { metricValue, waitFor } from '../support/processes';
import { deliveriesByDevice, seedDevices, startPushFakes, type PushFakes } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';
import { startScaleOut, type ScaleOutSystem } from './support/scale-out-system';
import { peakSessions, SurgeUser } from './support/surge-users';

/* eslint-disable @typescript-eslint/no-explicit-any -- the admin API answers free-form JSON */
type Json = Record<string, any>;

/** Subscribers of a sharded Pub/Sub channel, counted on every master (each answers for its own slots). */
async function shardSubscribers(client: RedisClient, channel: string): Promise<number> {
  let sum = 0;
  for (const node of client instanceof Cluster ? client.nodes('master') : [client]) {
    sum += Number(((await node.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]);
  }
  return sum;
}

const DEVICES = 3000;
const USERS = 240;
const CAPACITY = 8;
/** Bounds, not expectations: a loaded 2-core machine is slow. */
const CAMPAIGN_MS = 120_000;
const STEP_MS = 30_000;

describe('scale-out: every app its own process, two of each', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let fakes: PushFakes;
  let origin: FakeOrigin;
  let system: ScaleOutSystem;
  let prisma: PrismaService;
  const users: SurgeUser[] = [];

  beforeAll(async () => {
    [db, redis, fakes, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startPushFakes(), startFakeOrigin()]);
    system = await startScaleOut({ databaseUrl: db.url, redisPrefix: redis.prefix, fakes });
    prisma = new PrismaService({ connectionString: db.url, max: 3 });
  }, 180_000);

  afterAll(async () => {
    for (const u of users) u.close();
    await system?.stop();
    await prisma?.$disconnect();
    await Promise.all([fakes?.close(), origin?.close()]);
    await Promise.all([redis?.cleanup(), db?.drop()]);
  });

  it(
    'sends a campaign of 3,000 devices across both workers, each device exactly once, with the stats right',
    async () => {
      const devices = await seedDevices(prisma, fakes, DEVICES, { tags: ['scale-out'] });
      const created = await system.admin('POST', '/admin/campaigns', {
        name: 'Scale-out',
        message: { title: 'Hello', body: 'From both workers' },
        audience: { segment: { tagsAll: ['scale-out'] } },
        wave_plan: { batch_size: 100, wave_size: 1000, interval_seconds: 1 },
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      expect((await system.admin('POST', `/admin/campaigns/${id}/start`)).status).toBe(200);
      await waitFor(
        async () => (await system.admin('GET', `/admin/campaigns/${id}`)).body.status === 'completed',
        CAMPAIGN_MS,
        `the campaign to complete\n${system.output()}`,
      );

      const received = deliveriesByDevice(fakes, devices);
      expect([...received.values()].filter((n) => n !== 1)).toEqual([]);

      const sentBy = await Promise.all(
        system.workers.map(async (w) => {
          let sent = 0;
          for (const provider of ['fcm', 'apns', 'webpush'])
            sent += await metricValue(w.url, 'tidegate_push_messages_total', { provider, outcome: 'sent' });
          return sent;
        }),
      );
      process.stdout.write(`scale-out campaign: ${DEVICES} devices, sent by worker 1: ${sentBy[0]}, worker 2: ${sentBy[1]}\n`);
      expect(sentBy.every((n) => n > 0)).toBe(true);
      expect(sentBy.reduce((a, b) => a + b, 0)).toBe(DEVICES);

      const delivered = {
        fcm: fakes.fcm.delivered().length,
        apns: fakes.apns.delivered().length,
        webpush: fakes.webpush.delivered().length,
      };
      let stats: Json = {};
      await waitFor(
        async () => {
          stats = (await system.admin('GET', `/admin/campaigns/${id}/stats`)).body;
          return stats.sent === DEVICES;
        },
        10_000,
        'the stats to count every message',
      );
      expect(stats).toMatchObject({ status: 'completed', targeted: DEVICES, sent: DEVICES, failed: 0, invalid: 0, by_provider: delivered });
    },
    CAMPAIGN_MS + 60_000,
  );

  it('lets a surge over two gateways and two ws apps in, in ticket order, never over capacity, each told on its own socket', async () => {
    const room = 'surge';
    const created = await system.admin('POST', '/admin/rooms', {
      id: room,
      name: room,
      origin_url: origin.url,
      paths: [`/${room}/*`],
      total_active_users: CAPACITY,
      new_users_per_minute: 600_000,
    });
    expect(created.status).toBe(201);
    const [gatewayA, gatewayB] = system.gateways.map((g) => g.url) as [string, string];
    // Both ws processes hear the namespace's sharded channel (the socket.io adapter on this Redis, Cluster or not).
    await waitFor(
      async () => (await shardSubscribers(redis.client, `${redis.prefix}:socket.io#/#`)) === 2,
      10_000,
      'both ws processes to subscribe to the socket.io channel',
    );
    // Both gateways serve the room before anyone arrives (a gateway that does not know it yet would let people by).
    for (const url of [gatewayA, gatewayB]) {
      await waitFor(
        async () => (await fetch(`${url}/rooms/${room}/status`, { headers: { accept: 'application/json' } })).status !== 404,
        10_000,
        `${url} to serve the room`,
      );
    }

    // Admissions by socket, checked against what the test expects at each step.
    let expected = new Set<number>();
    const admittedNow: SurgeUser[] = [];
    const visits: Array<Promise<void>> = [];
    const violations: string[] = [];
    const onAdmitted = (u: SurgeUser) => {
      if (!expected.has(u.ticket as number)) violations.push(`ticket ${u.ticket} let in out of turn (expected ${[...expected].join(',')})`);
      admittedNow.push(u);
      visits.push(u.visit());
    };
    for (let i = 0; i < USERS; i++) {
      const inA = i % 2 === 0;
      const ws = Math.floor(i / 2) % 2;
      users.push(new SurgeUser(i, room, inA ? gatewayA : gatewayB, inA ? gatewayB : gatewayA, ws, system.wsApps[ws]!.url, onAdmitted));
    }

    // The surge: everyone arrives at once (20 at a time), through both gateways.
    for (let i = 0; i < USERS; i += 20) await Promise.all(users.slice(i, i + 20).map((u) => u.arrive()));
    expect(users.flatMap((u) => u.problems)).toEqual([]);
    const direct = users.filter((u) => u.via === 'direct');
    const waiting = users.filter((u) => u.ticket !== null).sort((a, b) => (a.ticket as number) - (b.ticket as number));
    expect(direct.length + waiting.length).toBe(USERS);
    expect(direct.length).toBeLessThanOrEqual(CAPACITY);
    // Whoever the gate let in at once, the releaser fills the rest of the room with the first tickets.
    const firstIn = new Set(waiting.slice(0, CAPACITY - direct.length));
    expected = new Set([...firstIn].map((u) => u.ticket as number));
    for (let i = 0; i < waiting.length; i += 20) await Promise.all(waiting.slice(i, i + 20).map((u) => u.connect()));
    await Promise.all(direct.map((u) => u.visit()));

    const freedVia = new Map<SurgeUser, 0 | 1>();
    let held = [...direct];
    let step = 0;
    for (let at = 0; ; step++) {
      // The step's admissions arrive on their own sockets; everyone still waiting is told their exact place.
      await waitFor(() => admittedNow.length >= expected.size, STEP_MS, `step ${step}: ${expected.size} admissions`);
      await Promise.all(visits.splice(0));
      expect(violations).toEqual([]);
      expect(new Set(admittedNow.map((u) => u.ticket))).toEqual(expected);
      held = [...held, ...admittedNow.splice(0)];
      expect(held.length).toBeLessThanOrEqual(CAPACITY);
      at += expected.size;
      const rest = waiting.slice(at);
      const misplaced = () => rest.filter((u, rank) => u.lastPosition !== rank + 1);
      await waitFor(() => misplaced().length === 0, STEP_MS, `step ${step}: every waiting socket to be told its place`).catch(
        (err: Error) => {
          const seen = misplaced()
            .slice(0, 5)
            .map((u) => `ticket ${u.ticket}: ${u.positions.join(',')} (rank ${rest.indexOf(u) + 1})`);
          throw new Error(`${err.message}; e.g. ${seen.join('; ')}`, { cause: err });
        },
      );
      if (rest.length === 0) break;
      if (step > USERS) throw new Error('more steps than people');
      // Free every place through one gateway (alternating): the next tickets in line are let in.
      const via = (step % 2) as 0 | 1;
      expected = new Set(rest.slice(0, held.length).map((u) => u.ticket as number));
      for (const u of rest.slice(0, held.length)) freedVia.set(u, via);
      await Promise.all(held.map((u) => u.leave(via === 0 ? gatewayA : gatewayB)));
      held = [];
    }
    await Promise.all(held.map((u) => u.leave(gatewayA)));

    expect(violations).toEqual([]);
    expect(users.flatMap((u) => u.problems.map((p) => `user ${u.index}: ${p}`))).toEqual([]);
    // Everyone in, once; those who waited by their own socket's admitted.v1, positions only ever going down.
    expect(users.every((u) => u.token !== null)).toBe(true);
    expect(waiting.every((u) => u.via === 'socket' && u.admittedEvents === 1)).toBe(true);
    const wentUp = (u: SurgeUser) => u.positions.some((p, i) => i > 0 && p >= (u.positions[i - 1] as number));
    expect(waiting.filter(wentUp).map((u) => [u.ticket, u.positions])).toEqual([]);
    // Each told its place at every step until its turn (bar those let in as they connected): last of all, within the room.
    const toldLast = (u: SurgeUser) => u.positions.length > 0 && (u.lastPosition as number) <= CAPACITY;
    expect(waiting.filter((u) => !firstIn.has(u) && !toldLast(u)).map((u) => [u.ticket, u.positions])).toEqual([]);
    // The origin never held more sessions than the room's capacity, and was filled up to it.
    const peak = peakSessions(origin.requests.map((r) => r.url));
    expect(peak).toBe(CAPACITY);
    // Both ws apps told people of turns that places freed through either gateway gave them.
    const combos = new Map<string, number>();
    for (const [u, via] of freedVia) {
      const combo = `ws ${u.wsIndex + 1} / gateway ${via + 1}`;
      combos.set(combo, (combos.get(combo) ?? 0) + 1);
    }
    expect([...combos.keys()].sort()).toEqual(['ws 1 / gateway 1', 'ws 1 / gateway 2', 'ws 2 / gateway 1', 'ws 2 / gateway 2']);
    process.stdout.write(
      `scale-out surge: ${USERS} people, capacity ${CAPACITY}, ${direct.length} in at once, ${waiting.length} by socket in ${step} steps; ` +
        `origin peak ${peak}; admissions per ws and freeing gateway ${JSON.stringify(Object.fromEntries(combos))}; ` +
        `position updates ${waiting.reduce((n, u) => n + u.positions.length, 0)}\n`,
    );
  }, 300_000);
});
