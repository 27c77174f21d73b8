/**
 * Redis Cluster master failovers under load, on the fault suite's 6-node Cluster (TEST_FAULTS_CLUSTER_NODES): every
 * app a separate process with REDIS_CLUSTER_NODES (scheduler api, two workers, a gateway and a ws app).
 * (a) During a campaign, every master is failed over in turn (`CLUSTER FAILOVER` on its replica): whichever master
 *     holds the campaign's keys, the queues (`{bull}`), the limits or a dispatch partition, it moves once. The
 *     campaign completes, nobody lost, duplicates at most what was in flight.
 * (b) During admission, a surge of users into a small room; the master owning `{room:<id>}` is failed over: nobody
 *     admitted twice, never more inside than the room holds, everyone in at the end, no place left taken.
 * (c), (d) The same two, but the master is frozen (SIGSTOP) instead, until the Cluster promotes its replica on its
 *     own (cluster-node-timeout, 5 s): an uncoordinated failover, as when a master dies; writes it had acknowledged
 *     but not replicated may be lost. (c) hits the master holding most of the campaign's keys.
 * After each failover the test waits until every node agrees (cluster_state:ok, the old master a replica); at the
 * end the original masters take over again, so the next suite starts from the layout the script made.
 */
import { randomBytes } from 'node:crypto';
import { generateApiKey } from '@tidegate/auth';
import { ApiKeyRepository, PrismaService } from '@tidegate/database';
import { closeRedisClient, createRedisClient, waitUntilReady, type RedisClient } from '@tidegate/redis';
import { adminCall } from '../support/admin-api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { waitFor } from '../support/processes';
import { deliveriesByDevice, seedDevices, startPushFakes, type PushFakes } from '../support/push-fakes';
import { deleteByPattern } from '../support/redis';
import { alive, spawnOnCluster, type ClusterApp } from './support/cluster-apps';
import { FaultCluster, faultClusterNodes, type FailoverResult } from './support/cluster-failover';
import { Surge } from './support/cluster-surge';
import { recordFigures } from './support/figures';

const DEVICES = 4500;
const BATCH = 100;
const WORKERS = 2;
/** Batches each worker has with the providers at once (SEND_CONCURRENCY default) × the batch. */
const IN_FLIGHT = WORKERS * 4 * BATCH;
/** 300 messages a second: about 15 s of campaign. */
const RATE_PER_MINUTE = 18_000;
const ROOM_CAPACITY = 20;
/** The room's idle timeout: short, so sessions an unclean failover brought back end within the test. */
const SESSION_SECONDS = 45;
const SURGE_USERS = 300;

type Json = Record<string, unknown>;

describe('fault: Redis Cluster master failover', () => {
  const nodes = faultClusterNodes();
  const cluster = new FaultCluster(nodes);
  const prefix = `test-${randomBytes(5).toString('hex')}`;
  let originalMasters: string[] = [];
  let db: TestDatabase;
  let redis: RedisClient;
  let prisma: PrismaService;
  let fakes: PushFakes;
  let origin: FakeOrigin;
  let api: ClusterApp;
  let gateway: ClusterApp;
  let ws: ClusterApp;
  const workers: ClusterApp[] = [];
  const keys = { sre: generateApiKey(), marketer: generateApiKey() };

  const admin = (method: string, path: string, body?: unknown, key = keys.marketer.key) => adminCall(api.url, key, method, path, body);

  beforeAll(async () => {
    await cluster.waitSettled('before the test');
    originalMasters = (await cluster.masters()).map((m) => m.addr);
    [db, fakes, origin] = await Promise.all([createTestDatabase(), startPushFakes(), startFakeOrigin()]);
    redis = createRedisClient({ clusterNodes: nodes }, { name: 'test' });
    await waitUntilReady(redis, 10_000);
    prisma = new PrismaService({ connectionString: db.url, max: 3 });
    const repo = new ApiKeyRepository(prisma);
    for (const role of ['sre', 'marketer'] as const) {
      const k = keys[role];
      await repo.create({ name: `${role}-key`, role, prefix: k.prefix, hash: k.hash });
    }
    const base = { databaseUrl: db.url, redisPrefix: prefix, nodes };
    [api, gateway, ws] = await Promise.all([
      spawnOnCluster('scheduler', { ...base, args: ['--role=api'] }),
      spawnOnCluster('gateway', { ...base, env: { THROTTLE_LIMIT: '100000', ROOMS_REFRESH_MS: '200' } }),
      spawnOnCluster('ws', base),
    ]);
    for (let i = 0; i < WORKERS; i++) workers.push(await spawnOnCluster('scheduler', { ...base, env: fakes.env, args: ['--role=worker'] }));
  }, 400_000);

  afterAll(async () => {
    await Promise.all([api, gateway, ws, ...workers].filter(Boolean).map((p) => p.stop()));
    await cluster
      .restore(originalMasters)
      .catch((err: Error) => process.stdout.write(`cluster failover: restore failed: ${err.message}\n`));
    if (redis) {
      await deleteByPattern(redis, `${prefix}:*`);
      await closeRedisClient(redis);
    }
    await cluster.close();
    await prisma?.$disconnect();
    await Promise.all([fakes?.close(), origin?.close(), db?.drop()]);
  }, 120_000);

  /**
   * A campaign of DEVICES at 300 a second; once 900 are out, `fault` runs (and resolves when the Cluster has settled).
   * Asserts the campaign completes with nobody lost and at most what was in flight twice; records the figures.
   */
  async function campaignThrough(
    tag: string,
    fault: () => Promise<FailoverResult[]>,
    figures: { id: string; fault: string },
  ): Promise<void> {
    const devices = await seedDevices(prisma, fakes, DEVICES, { tags: [tag] });
    const all = () => fakes.fcm.delivered().length + fakes.apns.delivered().length + fakes.webpush.delivered().length;
    const before = all();
    const delivered = () => all() - before;
    const created = await admin('POST', '/admin/campaigns', {
      name: `faults: ${figures.id}`,
      message: { title: 'Hello', body: 'Tidegate' },
      audience: { segment: { tagsAll: [tag] } },
      wave_plan: { batch_size: BATCH, wave_size: 1500, interval_seconds: 1, rate_limits: { campaign: RATE_PER_MINUTE } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await admin('POST', `/admin/campaigns/${id}/start`)).status).toBe(200);

    await waitFor(() => delivered() >= 900, 60_000, '900 messages before the failovers');
    const keysPerMaster = await cluster.keysByMaster(`${prefix}:*`);
    const sentAtFailover = delivered();
    const failovers = await fault();
    const sentAfterFailovers = delivered();
    const failoversEnded = Date.now();
    // How long sending stalled after the last failover: until the next message the fakes accept (-1: every message
    // had gone out during the failovers).
    await waitFor(() => delivered() > sentAfterFailovers || sentAfterFailovers >= DEVICES, 60_000, 'a message after the failovers');
    const resumedAfterMs = sentAfterFailovers >= DEVICES ? -1 : Date.now() - failoversEnded;

    let status = '';
    await waitFor(
      async () => {
        const res = await admin('GET', `/admin/campaigns/${id}`);
        status = res.status === 200 ? (res.body.status as string) : `HTTP ${res.status}`;
        return status === 'completed' || status === 'paused' || status === 'failed';
      },
      120_000,
      'the campaign to end after the failovers',
    );
    const received = deliveriesByDevice(fakes, devices);
    const lost = devices.filter((d) => (received.get(d.id) ?? 0) === 0).length;
    const duplicated = [...received.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
    process.stdout.write(
      `${figures.id}: ${failovers.map((f) => `${f.from}→${f.to} ${f.ms} ms`).join(', ')}; keys per master before ` +
        `${JSON.stringify(Object.fromEntries(keysPerMaster))}; ${sentAtFailover} sent before, ${sentAfterFailovers} after the ` +
        `failovers, the next ${resumedAfterMs} ms after them; campaign ${status}; lost ${lost}, duplicated ${duplicated}\n`,
    );
    expect(status).toBe('completed');
    expect(lost).toBe(0);
    expect(duplicated).toBeLessThanOrEqual(IN_FLIGHT);
    expect(workers.every(alive)).toBe(true);
    expect((await admin('GET', `/admin/campaigns/${id}/stats`)).body).toMatchObject({ targeted: DEVICES, sent: DEVICES, failed: 0 });

    recordFigures(figures.id, {
      fault: figures.fault,
      lost,
      duplicated,
      overCapacity: 0,
      completed: true,
      extra: {
        devices: DEVICES,
        workers: WORKERS,
        failovers: failovers.length,
        slowestFailoverMs: Math.max(...failovers.map((f) => f.ms)),
        keysOnTheMasterHit: failovers.reduce((n, f) => n + (keysPerMaster.get(f.from) ?? 0), 0),
        sentBeforeFailovers: sentAtFailover,
        sentDuringFailovers: sentAfterFailovers - sentAtFailover,
        firstSendAfterFailoversMs: resumedAfterMs,
        inFlightBound: IN_FLIGHT,
      },
    });
  }

  /**
   * A surge of SURGE_USERS into a room of ROOM_CAPACITY; once a fifth are in, `fault` runs against the master owning
   * the room's slot. Asserts nobody in twice, never over capacity, everyone in, the room empty at the end: at once
   * after a coordinated failover (no write is lost); after a frozen master, within the sessions' idle timeout (Redis
   * replicates asynchronously, so a leave the frozen master acknowledged but never passed on comes back as a session on
   * the promoted replica, which then ends by itself: counted as `sessionsLeftByFailover`).
   */
  async function surgeThrough(
    roomId: string,
    fault: (master: string) => Promise<FailoverResult>,
    figures: { id: string; fault: string },
    lossy = false,
  ): Promise<void> {
    const room = await admin(
      'POST',
      '/admin/rooms',
      {
        id: roomId,
        origin_url: origin.url,
        paths: [`/${roomId}/*`],
        total_active_users: ROOM_CAPACITY,
        new_users_per_minute: 600_000,
        max_wait_seconds: 600,
        session_duration_seconds: SESSION_SECONDS,
      },
      keys.sre.key,
    );
    expect(room.status).toBe(201);
    // The gateway loads the room (ROOMS_REFRESH_MS); the first visitor goes in and leaves again.
    let warmToken: string | null = null;
    let lastAnswer = '';
    await waitFor(
      async () => {
        const res = await fetch(`${gateway.url}/${roomId}/warmup`, { headers: { 'x-device-id': 'warmup-device' } });
        lastAnswer = `${res.status} ${(await res.text()).slice(0, 200)}`;
        warmToken = res.headers.get('x-origin') === 'fake' ? res.headers.get('x-tidegate-token') : null;
        return warmToken !== null;
      },
      30_000,
      'the gateway to serve the room',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; it answered ${lastAnswer}; the gateway said: ${gateway.output().slice(-2000)}`);
    });
    await fetch(`${gateway.url}/rooms/${roomId}/leave`, { method: 'POST', headers: { 'x-tidegate-token': warmToken! } });

    const roomSlot = await cluster.slotOf(`{room:${roomId}}`);
    const roomMaster = await cluster.masterOf(roomSlot);
    const surge = new Surge({
      gatewayUrl: gateway.url,
      wsUrl: ws.url,
      roomId,
      path: `/${roomId}/page`,
      users: SURGE_USERS,
      stayMs: 150,
      deadlineMs: 120_000,
    });
    // The room's own view, every 200 ms: the most sessions (and reservations) it counted at once.
    let peakActive = 0;
    let watching = true;
    const watcher = (async () => {
      for (let i = 0; i < 2000 && watching; i++) {
        const res = await admin('GET', `/admin/rooms/${roomId}/status`, undefined, keys.sre.key).catch(() => undefined);
        if (res?.status === 200) peakActive = Math.max(peakActive, Number((res.body as Json).active ?? 0));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const running = surge.run();
    await waitFor(() => surge.admitted() >= SURGE_USERS / 5, 60_000, `${SURGE_USERS / 5} users in before the failover`);
    const admittedAtFailover = surge.admitted();
    const failover = await fault(roomMaster.addr);
    const admittedAfterFailover = surge.admitted();
    const result = await running;

    // Nobody waits and no place stays taken once everyone left (a place reserved twice would stay taken).
    let last: Json = {};
    const empty = async () => {
      const res = await admin('GET', `/admin/rooms/${roomId}/status`, undefined, keys.sre.key);
      last = res.body as Json;
      return res.status === 200 && last.active === 0 && last.waiting === 0;
    };
    await waitFor(empty, 20_000, 'the room to be empty after everyone left').catch(() => undefined);
    const sessionsLeftByFailover = Number(last.active ?? 0);
    if (lossy && sessionsLeftByFailover > 0) {
      await waitFor(empty, (SESSION_SECONDS + 30) * 1000, 'the sessions the failover brought back to end').catch(() => undefined);
    }
    watching = false;
    await watcher;

    const twice = result.users.filter((u) => u.sessions.size > 1).length;
    const never = result.users.filter((u) => u.admittedAt === undefined);
    const peakInside = surge.peakInside();
    const answers = Object.fromEntries([...result.answers.entries()].sort(([a], [b]) => a - b));
    process.stdout.write(
      `${figures.id}: slot ${roomSlot} ${failover.from}→${failover.to} in ${failover.ms} ms with ` +
        `${admittedAtFailover}/${SURGE_USERS} in (${admittedAfterFailover} once settled); in twice ${twice}, never in ${never.length} ` +
        `${JSON.stringify(never.slice(0, 3).map((u) => `${u.device} ${u.via}: ${u.error}`))}; peak inside ${peakInside} (room's ` +
        `own peak ${peakActive}) of ${ROOM_CAPACITY}; answers ${JSON.stringify(answers)}; socket drops ${result.socketDrops}; ` +
        `room at the end ${JSON.stringify({ active: last.active, waiting: last.waiting })}\n`,
    );
    expect(twice).toBe(0);
    expect(never).toEqual([]);
    expect(peakInside).toBeLessThanOrEqual(ROOM_CAPACITY);
    expect(peakActive).toBeLessThanOrEqual(ROOM_CAPACITY);
    expect(last).toMatchObject({ active: 0, waiting: 0 });
    expect([gateway, ws].every(alive)).toBe(true);

    recordFigures(figures.id, {
      fault: figures.fault,
      lost: never.length,
      duplicated: twice,
      overCapacity: Math.max(0, peakInside - ROOM_CAPACITY, peakActive - ROOM_CAPACITY),
      completed: never.length === 0,
      extra: {
        failoverMs: failover.ms,
        admittedBeforeFailover: admittedAtFailover,
        peakInside,
        roomPeakActive: peakActive,
        gateway5xx: [...result.answers.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0),
        noAnswer: result.answers.get(0) ?? 0,
        socketDrops: result.socketDrops,
        sessionsLeftByFailover,
      },
    });
  }

  it('(a) a campaign goes on while every master fails over in turn: nobody lost, duplicates at most what was in flight', async () => {
    await campaignThrough('coordinated', () => cluster.failoverEveryMaster(), {
      id: 'cluster-failover-campaign',
      fault: 'every Cluster master failed over in turn (CLUSTER FAILOVER on its replica) during a campaign',
    });
  }, 240_000);

  it('(b) admission goes on while the master owning the room fails over: nobody in twice, never over capacity, everyone in', async () => {
    await surgeThrough('failover-room', (master) => cluster.failover(master), {
      id: 'cluster-failover-admission',
      fault: `the master owning {room:<id>} failed over (CLUSTER FAILOVER) during a surge of ${SURGE_USERS} into a room of ${ROOM_CAPACITY}`,
    });
  }, 240_000);

  it('(c) a campaign goes on when the master holding most of its keys hangs until its replica is promoted', async () => {
    await campaignThrough(
      'hung',
      async () => {
        const counts = [...(await cluster.keysByMaster(`${prefix}:*`)).entries()].sort((x, y) => y[1] - x[1]);
        return [await cluster.hang(counts[0]![0])];
      },
      {
        id: 'cluster-hung-master-campaign',
        fault:
          "the master holding most of the campaign's keys frozen (SIGSTOP) until its replica is promoted (node timeout 5 s) during a campaign",
      },
    );
  }, 240_000);

  it('(d) admission goes on when the master owning the room hangs until its replica is promoted', async () => {
    await surgeThrough(
      'hung-room',
      (master) => cluster.hang(master),
      {
        id: 'cluster-hung-master-admission',
        fault: `the master owning {room:<id>} frozen (SIGSTOP) until its replica is promoted, during a surge of ${SURGE_USERS} into a room of ${ROOM_CAPACITY}`,
      },
      true,
    );
  }, 360_000);
});
