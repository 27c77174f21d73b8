/**
 * The operations kit against the real apps: every metric name that the Prometheus alert rules
 * (ops/prometheus/tidegate-alerts.yml) and the Grafana dashboard (ops/grafana/tidegate-dashboard.json) query must be
 * one that a live app exports on GET /metrics, after the apps did a little of everything (an admission, a wait, a
 * socket, a campaign sent to the providers' fakes), so series created on first use exist. And the files hold
 * together: the rules file parses, every alert has a severity, a summary and a runbook link to a heading that exists
 * in docs/operations.md; every dashboard panel has a query.
 */
import fs from 'node:fs';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { parse as parseYaml } from 'yaml';
import { PrismaService } from '@tidegate/database';
import { adminCall } from '../support/admin-api';
import { startGateway, startScheduler, startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createRoleKeys } from '../support/keys';
import { startFakeOrigin, type FakeOrigin } from '../support/origin';
import { metricValue, waitFor } from '../support/processes';
import { deliveriesByDevice, seedDevices, startPushFakes, type PushFakes } from '../support/push-fakes';
import { createTestRedis, type TestRedis } from '../support/redis';

const root = path.resolve(__dirname, '../..');
const RULES_FILE = 'ops/prometheus/tidegate-alerts.yml';
const DASHBOARD_FILE = 'ops/grafana/tidegate-dashboard.json';
const RUNBOOK = 'docs/operations.md';

/** Series Prometheus writes itself for every scrape target (no app exports them). */
const PROMETHEUS_OWN = new Set(['up']);

// ---------- PromQL: the metric names an expression reads ----------

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names in a PromQL expression: identifiers used bare or followed by `{` or `[`, leaving out function
 * calls, keywords, label names (matchers, `by (…)` and friends), strings, durations and Grafana's `$variables`.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g, ' ') // Grafana variables ($__rate_interval, ${room})
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings (before braces: a string may hold one)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const word = m[1] as string;
    if (m[2] || PROMQL_KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

// ---------- Prometheus text format: the families an app declares ----------

/** Metric family name → type, from the `# TYPE` lines of a scrape (present even before a labelled series exists). */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

/** Sample names (with at least one series) of a scrape. */
function sampleNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^([A-Za-z_:][\w:]*)(?:\{.*\})? \S+$/gm)].map((m) => m[1] as string));
}

/** Does the exported family set serve `name` (a histogram's or summary's `_bucket`, `_sum`, `_count` included)? */
function served(name: string, exported: Map<string, string>): boolean {
  if (exported.has(name) || PROMETHEUS_OWN.has(name)) return true;
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!m) return false;
  const type = exported.get(m[1] as string);
  return type === 'histogram' || (type === 'summary' && m[2] !== 'bucket');
}

// ---------- the files ----------

interface AlertRule {
  alert?: string;
  record?: string;
  expr?: unknown;
  for?: string;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}
interface RulesFile {
  groups?: Array<{ name?: string; interval?: string; rules?: AlertRule[] }>;
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr?: string; refId?: string; legendFormat?: string }>;
  panels?: Panel[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Array<{ name?: string; type?: string; query?: unknown; definition?: string }> };
}

const readText = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const rulesFile = () => parseYaml(readText(RULES_FILE)) as RulesFile;
const dashboard = () => JSON.parse(readText(DASHBOARD_FILE)) as Dashboard;
const allRules = () => (rulesFile().groups ?? []).flatMap((g) => g.rules ?? []);
const allPanels = (panels: Panel[] = dashboard().panels ?? []): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

/** GitHub's anchors for a Markdown file's headings (lower case, punctuation dropped, spaces to hyphens, -1 for repeats). */
function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = (m[1] as string).replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a (?:id|name)="([^"]+)"/g)) anchors.add(m[1] as string);
  return anchors;
}

/** Every query the dashboard and the rules run, with where it comes from. */
function queries(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const rule of allRules()) out.push({ where: `alert ${rule.alert ?? rule.record ?? '?'}`, expr: String(rule.expr) });
  for (const panel of allPanels()) {
    for (const t of panel.targets ?? []) out.push({ where: `panel "${panel.title ?? panel.id}" ${t.refId ?? ''}`, expr: t.expr ?? '' });
  }
  for (const v of dashboard().templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? '');
    // label_values(metric, label): the metric is the first argument; the label is not a metric.
    const lv = /^label_values\((.*),\s*\w+\)$/.exec(q.trim());
    out.push({ where: `variable $${v.name ?? '?'}`, expr: lv ? (lv[1] as string) : q });
  }
  return out;
}

describe('ops: the rules file, the dashboard and the runbook hold together', () => {
  it('finds metric names in PromQL and only those', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (le, room) (rate(tidegate_origin_request_seconds_bucket{app="gateway",room=~"$room"}[$__rate_interval])))',
      ),
    ).toEqual(['tidegate_origin_request_seconds_bucket']);
    expect(
      promqlMetricNames(
        'sum(rate(a_total{outcome="sent"}[5m] offset 1h)) / ignoring(outcome) group_left sum without (x) (b) > bool 1e3 unless on(room) c{label="}"}',
      ).sort(),
    ).toEqual(['a_total', 'b', 'c']);
    expect(promqlMetricNames('max_over_time(tidegate_room_pressure[10m:1m]) and absent(up)').sort()).toEqual([
      'tidegate_room_pressure',
      'up',
    ]);
  });

  it('parses the rules file: every alert has an expression, a duration, a severity, a summary, a description and a runbook link to a heading of the runbook', () => {
    const file = rulesFile();
    expect(file.groups?.length).toBeGreaterThan(0);
    const anchors = headingAnchors(readText(RUNBOOK));
    const problems: string[] = [];
    const names = new Set<string>();
    for (const group of file.groups ?? []) {
      if (!group.name) problems.push('a group without a name');
      for (const rule of group.rules ?? []) {
        const name = rule.alert ?? '(no alert name)';
        if (!rule.alert) problems.push(`${group.name}: a rule without an alert name`);
        if (names.has(name)) problems.push(`${name}: defined twice`);
        names.add(name);
        if (typeof rule.expr !== 'string' || promqlMetricNames(rule.expr).length === 0)
          problems.push(`${name}: no expression reading a metric`);
        if (typeof rule.for !== 'string' || !/^\d+[smh]$/.test(rule.for)) problems.push(`${name}: "for" must be a duration`);
        if (!['critical', 'warning', 'info'].includes(rule.labels?.severity as string))
          problems.push(`${name}: severity critical, warning or info`);
        for (const field of ['summary', 'description', 'runbook_url']) {
          if (typeof rule.annotations?.[field] !== 'string' || rule.annotations[field] === '') problems.push(`${name}: no ${field}`);
        }
        const url = rule.annotations?.runbook_url;
        const link = typeof url === 'string' ? /^(?:https?:\/\/\S+\/)?docs\/operations\.md#([\w-]+)$/.exec(url) : null;
        if (!link) problems.push(`${name}: runbook_url must point at docs/operations.md#<anchor>`);
        else if (!anchors.has(link[1] as string)) problems.push(`${name}: no heading in ${RUNBOOK} has the anchor #${link[1]}`);
      }
    }
    expect(problems).toEqual([]);
    expect(names.size).toBeGreaterThanOrEqual(10);
  });

  it('links to files that exist and to headings that exist, in the runbook and the docs it points at', () => {
    const markdown = readText(RUNBOOK);
    const links = [...markdown.matchAll(/\]\(([^)\s]*)\)/g)].map((m) => m[1] as string).filter((l) => !/^https?:/.test(l));
    expect(links.filter((l) => l.startsWith('#')).length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const link of links) {
      const [file = '', anchor] = link.split('#', 2);
      const target = file === '' ? RUNBOOK : path.posix.join(path.posix.dirname(RUNBOOK), file);
      if (!fs.existsSync(path.join(root, target))) {
        problems.push(`${link}: no file ${target}`);
        continue;
      }
      if (anchor !== undefined && !headingAnchors(readText(target)).has(anchor))
        problems.push(`${link}: no heading #${anchor} in ${target}`);
    }
    expect(problems).toEqual([]);
  });

  it('has a dashboard Grafana can import: a uid, a title, unique panel ids on the grid, a query in every graph', () => {
    const d = dashboard();
    expect(d.uid).toMatch(/^[\w-]{1,40}$/);
    expect(d.title).toBeTruthy();
    expect(d.schemaVersion).toBeGreaterThan(30);
    const panels = allPanels();
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const problems: string[] = [];
    for (const p of panels) {
      if (typeof p.id !== 'number' || !p.type || !p.title || !p.gridPos)
        problems.push(`panel ${p.id ?? p.title}: id, type, title and gridPos`);
      if (p.type === 'row') continue;
      if (!p.targets?.length) problems.push(`panel "${p.title}": no query`);
      for (const t of p.targets ?? []) {
        if (!t.refId || !t.expr || promqlMetricNames(t.expr).length === 0)
          problems.push(`panel "${p.title}": a target without refId or metric`);
      }
    }
    expect(problems).toEqual([]);
    expect(panels.filter((p) => p.type !== 'row').length).toBeGreaterThanOrEqual(20);
  });
});

describe('ops: every metric the rules and the dashboard query is exported by a live app', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: FakeOrigin;
  let fakes: PushFakes;
  let api: RunningApp;
  let worker: RunningApp;
  let gateway: RunningApp;
  let ws: RunningApp;
  let keys: Record<string, string>;
  let socket: Socket | undefined;

  beforeAll(async () => {
    [db, redis, origin, fakes] = await Promise.all([createTestDatabase(), createTestRedis(), startFakeOrigin(), startPushFakes()]);
    const env = { databaseUrl: db.url, redisPrefix: redis.prefix };
    [api, worker, gateway, ws] = await Promise.all([
      startScheduler(env, 'api'),
      startScheduler({ ...env, extra: { ...fakes.env, STATS_FLUSH_MS: '300' } }, 'worker'),
      startGateway({ ...env, extra: { RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '100' } }),
      startWs({ ...env, extra: { WS_TICK_MS: '100', WS_POSITION_INTERVAL_MS: '100' } }),
    ]);
    keys = await createRoleKeys(api.app);
  });

  afterAll(async () => {
    socket?.disconnect();
    await Promise.all([api, worker, gateway, ws].map((a) => a?.close()));
    await Promise.all([origin?.close(), fakes?.close()]);
    await redis?.cleanup();
    await db?.drop();
  });

  /** Where an app serves /metrics: the gateway's and the ws app's internal listener, the scheduler's own port. */
  const metricsUrl = (app: RunningApp) => app.internalUrl;
  const admin = (method: string, p: string, body?: unknown, role = 'sre') => adminCall(api.url, keys[role] as string, method, p, body);
  const visit = (p: string, device: string) =>
    fetch(`${gateway.url}${p}`, { headers: { accept: 'application/json', 'x-device-id': device } });

  it('serves every queried metric, after an admission, a wait, a socket and a campaign', async () => {
    // A room of one place: the first visitor goes in (proxied to the origin), the second waits and opens a socket.
    const room = await admin('POST', '/admin/rooms', {
      id: 'ops',
      origin_url: origin.url,
      paths: ['/ops/*'],
      total_active_users: 1,
      new_users_per_minute: 600,
    });
    expect(room.status).toBe(201);
    await waitFor(async () => (await visit('/ops/a', 'device-000001')).headers.get('x-origin') === 'fake', 10_000, 'the gateway to admit');
    const waiting = (await (await visit('/ops/b', 'device-000002')).json()) as { inWaitingRoom?: boolean; ticket?: string };
    expect(waiting.inWaitingRoom).toBe(true);
    const placed: number[] = [];
    socket = io(ws.url, { auth: { ticket: waiting.ticket, room: 'ops' }, transports: ['websocket'], reconnection: false });
    socket.on('position.v1', (u: { position: number }) => placed.push(u.position));
    await waitFor(() => placed.length > 0, 15_000, 'the socket to get its position');

    // A campaign to three devices (FCM, APNs, Web Push), sent by the worker through the real adapters to the fakes.
    const devices = await seedDevices(api.app.get(PrismaService), fakes, 3, { tags: ['ops'] });
    const created = await admin(
      'POST',
      '/admin/campaigns',
      {
        name: 'ops',
        message: { title: 'Hello', body: 'Tidegate' },
        audience: { segment: { tagsAll: ['ops'] } },
        wave_plan: { batch_size: 3, wave_size: 3, interval_seconds: 0 },
      },
      'marketer',
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await admin('POST', `/admin/campaigns/${id}/start`, undefined, 'marketer')).status).toBe(200);
    let seen: unknown;
    await waitFor(
      async () => {
        const { body } = await admin('GET', `/admin/campaigns/${id}`);
        seen = body;
        return body.status === 'completed';
      },
      90_000,
      'the campaign to complete',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${JSON.stringify(seen)}`);
    });
    expect([...deliveriesByDevice(fakes, devices).values()]).toEqual([1, 1, 1]);
    await waitFor(
      async () => (await metricValue(metricsUrl(gateway), 'tidegate_room_waiting', { room: 'ops' })) === 1,
      10_000,
      "the gateway's releaser to publish the room",
    );

    const scrape = async (app: RunningApp) => {
      const res = await fetch(`${metricsUrl(app)}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };
    const texts = {
      'scheduler api': await scrape(api),
      'scheduler worker': await scrape(worker),
      gateway: await scrape(gateway),
      ws: await scrape(ws),
    };
    const exported = new Map<string, string>();
    for (const text of Object.values(texts)) for (const [name, type] of families(text)) exported.set(name, type);

    // The exercise created the series the dashboard's main panels show (not only their declarations).
    for (const [app, name] of [
      ['scheduler worker', 'tidegate_push_messages_total'],
      ['scheduler worker', 'tidegate_push_provider_call_seconds_bucket'],
      ['scheduler api', 'tidegate_queue_jobs'],
      ['gateway', 'tidegate_gate_decisions_total'],
      ['gateway', 'tidegate_origin_request_seconds_bucket'],
      ['gateway', 'tidegate_room_waiting'],
      ['ws', 'tidegate_ws_waiting_sockets'],
      ['ws', 'tidegate_nodejs_eventloop_lag_p99_seconds'],
    ] as const) {
      expect(`${app}: ${name} ${sampleNames(texts[app]).has(name) ? 'has series' : 'has none'}`).toBe(`${app}: ${name} has series`);
    }
    expect(await metricValue(metricsUrl(worker), 'tidegate_push_messages_total', { outcome: 'sent' })).toBe(3);
    expect(
      await metricValue(metricsUrl(gateway), 'tidegate_gate_decisions_total', { room: 'ops', decision: 'wait' }),
    ).toBeGreaterThanOrEqual(1);

    const all = queries();
    const missing = all.flatMap(({ where, expr }) =>
      promqlMetricNames(expr)
        .filter((n) => !served(n, exported))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
    // The check can fail: a name no app exports is reported.
    expect(promqlMetricNames('rate(tidegate_push_messages_sent_total[5m])').filter((n) => !served(n, exported))).toEqual([
      'tidegate_push_messages_sent_total',
    ]);
    process.stdout.write(
      `ops-metrics: ${all.length} queries, ${new Set(all.flatMap((q) => promqlMetricNames(q.expr))).size} metric names, all exported by the apps (${exported.size} families)\n`,
    );
  }, 150_000);
});
