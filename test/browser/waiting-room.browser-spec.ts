/**
 * Issue 5 in a real browser: Debian's Chromium (headless, through playwright-core) opens a protected path of a full
 * room, sees its place ("#N") on the waiting page, watches it go down as places free up one at a time, and lands on
 * the origin's page once admitted, at the URL it asked for. Screenshots of the waiting page at desktop and phone
 * sizes go to test-artifacts/. A second gateway tells the page a socket URL where nothing listens: with WebSockets
 * unreachable the page falls back to polling and still gets in.
 *
 * In-process: a ws app, two gateways (one with WS_PUBLIC_URL at the ws app, one at a closed port), an HTML origin,
 * real Redis and PostgreSQL. The people ahead of the browser are apps checking in from Node.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOM_DEFAULTS } from '@tidegate/contracts';
import { RoomRepository } from '@tidegate/database';
import { RoomConfigStore } from '@tidegate/redis';
import { RoomRegistry } from '../../apps/gateway/src/admission/room-registry';
import { startGateway, startWs, type RunningApp } from '../support/apps';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { freePort, waitFor } from '../support/processes';
import { createTestRedis, type TestRedis } from '../support/redis';
import { ARTIFACTS, foreignHosts, launchChromium, WAIT_MS, watchedPage, type PageLog } from './support/chromium';
import { ORIGIN_HEADING, startHtmlOrigin, type HtmlOrigin } from './support/html-origin';
import { arrive, CheckingIn, leave } from './support/line';

const DESKTOP = { width: 1280, height: 800 };
/** What the page must show, in order, from place `from`: '#from', …, '#1' (one less each time a place frees up). */
const countdown = (from: number) => Array.from({ length: from }, (_, i) => `#${from - i}`);
const PHONE = { width: 390, height: 844 };

describe('the waiting page in Chromium', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let origin: HtmlOrigin;
  let ws: RunningApp;
  let gateway: RunningApp;
  /** A gateway whose waiting page is told a socket URL where nothing listens: WebSockets cannot connect. */
  let noSocket: RunningApp;
  let blockedSocketUrl: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const waiters: CheckingIn[] = [];

  beforeAll(async () => {
    [db, redis, origin] = await Promise.all([createTestDatabase(), createTestRedis(), startHtmlOrigin()]);
    const base = { databaseUrl: db.url, redisPrefix: redis.prefix };
    // A short grace period makes the page check in every second (refreshIntervalSeconds = grace / 3) when it polls.
    const admission = { TICKET_GRACE_SECONDS: '3' };
    ws = await startWs({ ...base, extra: { ...admission, WS_TICK_MS: '100', WS_POSITION_INTERVAL_MS: '100' } });
    blockedSocketUrl = `http://127.0.0.1:${await freePort()}`;
    const gatewayEnv = { ...admission, RELEASE_INTERVAL_MS: '100', ROOMS_REFRESH_MS: '100', THROTTLE_LIMIT: '100000' };
    [gateway, noSocket, browser] = await Promise.all([
      startGateway({ ...base, extra: { ...gatewayEnv, WS_PUBLIC_URL: ws.url } }),
      startGateway({ ...base, extra: { ...gatewayEnv, WS_PUBLIC_URL: blockedSocketUrl } }),
      launchChromium(),
    ]);
  });

  afterAll(async () => {
    await Promise.all(waiters.map((w) => w.stop()));
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await browser?.close();
    await Promise.all([gateway?.close(), noSocket?.close(), ws?.close()]);
    await origin?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  /** A full room in front of the HTML origin: one place (total_active_users 1), admissions not rate-limited. */
  async function createRoom(id: string, name: string, paths: string[]): Promise<void> {
    const settings = { ...ROOM_DEFAULTS, totalActiveUsers: 1, newUsersPerMinute: 6_000_000 };
    await gateway.app
      .get(RoomRepository)
      .create({ id, name, originUrl: origin.url, paths, message: 'Thanks for waiting! Keep this page open.', ...settings });
    await new RoomConfigStore(redis.client, redis.keys).write(id, settings);
    await waitFor(
      () => [gateway, noSocket].every((g) => g.app.get(RoomRegistry).get(id) !== null),
      WAIT_MS,
      'the gateways to load the room',
    );
  }

  /** Takes the room's one place (kept by its token) and puts `ahead` apps in line; they keep checking in. */
  async function fillRoom(via: RunningApp, id: string, url: string, ahead: number): Promise<{ holderToken: string; line: CheckingIn[] }> {
    const holder = await arrive(url);
    expect(holder.status).toBe(200);
    expect(holder.token).toMatch(/^ey/);
    const line: CheckingIn[] = [];
    for (let i = 1; i <= ahead; i++) {
      const waiting = await arrive(url);
      expect(waiting.body).toMatchObject({ inWaitingRoom: true, position: i });
      const waiter = new CheckingIn(via.url, id, waiting.body.ticket as string);
      waiters.push(waiter);
      line.push(waiter);
    }
    return { holderToken: holder.token!, line };
  }

  async function newContext(options: Parameters<Browser['newContext']>[0]): Promise<BrowserContext> {
    const context = await browser.newContext(options);
    contexts.push(context);
    return context;
  }

  /** What Chromium reports as refused by the page's Content-Security-Policy, from now on. */
  const cspViolations = (page: Page): string[] => {
    const seen: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) seen.push(m.text());
    });
    return seen;
  };

  const showsPosition = (page: Page, position: number) => page.getByText(`#${position}`, { exact: true }).waitFor({ state: 'visible' });

  /** The polite live region a screen reader announces, and that it says the position. */
  async function expectLiveRegion(page: Page, position: number): Promise<void> {
    const live = page.getByRole('status');
    expect(await live.getAttribute('aria-live')).toBe('polite');
    expect(await live.innerText()).toContain(`#${position}`);
  }

  /**
   * Frees the place ahead of the page one at a time: the holder leaves, the first in line is admitted (checks in,
   * gets a token) and the page must show one less; that one leaves; … until the page's own turn comes, when it
   * must land on the origin's page at the URL it asked for.
   */
  async function freePlacesUntilAdmitted(
    via: RunningApp,
    id: string,
    page: Page,
    start: { holderToken: string; line: CheckingIn[] },
  ): Promise<void> {
    let token = start.holderToken;
    for (const [i, waiter] of start.line.entries()) {
      expect(await leave(via.url, id, token)).toEqual({ left: false, sessionEnded: true });
      await showsPosition(page, start.line.length - i);
      await waitFor(() => waiter.token !== null, WAIT_MS, `the app ahead with ticket ${waiter.ticket} to be admitted`);
      token = waiter.token!;
    }
    expect(await leave(via.url, id, token)).toEqual({ left: false, sessionEnded: true });
    await page.getByRole('heading', { name: ORIGIN_HEADING }).waitFor({ state: 'visible' });
  }

  /** socket.io event names in the frames a socket received (`42["position.v1",{…}]` → position.v1). */
  const eventsOf = (log: PageLog) =>
    log.webSockets.flatMap((s) => s.received.map((frame) => /^42\["([^"]+)"/.exec(frame)?.[1]).filter((e): e is string => e !== undefined));

  it('shows #N, counts down live over the socket and lands on the origin once admitted; fits a phone', async () => {
    await createRoom('spring-sale', 'Spring sale', ['/shop/*']);
    const url = `${gateway.url}/shop/sale?from=push`;
    const ahead = 3;
    const start = await fillRoom(gateway, 'spring-sale', url, ahead);
    const position = ahead + 1;

    const { page, log } = await watchedPage(await newContext({ viewport: DESKTOP }));
    const violations = cspViolations(page);
    const response = await page.goto(url);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await showsPosition(page, position);
    expect(await page.title()).toBe('Spring sale: you are in line');
    await expectLiveRegion(page, position);
    await page.screenshot({ path: path.join(ARTIFACTS, 'waiting-room-desktop.png') });

    // Someone arriving after the desktop browser, on a phone: one place further back.
    const phone = await watchedPage(await newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 3 }));
    await phone.page.goto(url);
    await showsPosition(phone.page, position + 1);
    await expectLiveRegion(phone.page, position + 1);
    const widths = await phone.page.evaluate<{ scrollWidth: number; innerWidth: number }>(
      '({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })',
    );
    expect(widths.innerWidth).toBe(PHONE.width);
    expect(widths.scrollWidth).toBeLessThanOrEqual(widths.innerWidth); // no sideways scrolling
    await phone.page.screenshot({ path: path.join(ARTIFACTS, 'waiting-room-phone.png') });
    expect(foreignHosts(phone.log)).toEqual([]);
    await phone.page.context().close();

    await freePlacesUntilAdmitted(gateway, 'spring-sale', page, start);
    expect(page.url()).toBe(url);
    expect(origin.requests.at(-1)).toBe('/shop/sale?from=push');
    // Every place shown, one less each time a place freed up; never up.
    expect(log.positions).toEqual(countdown(position));
    // Live: the places came over one socket to the ws app, which also said when it was the page's turn.
    expect(log.webSockets.map((s) => new URL(s.url).host)).toEqual([new URL(ws.url).host]);
    expect(eventsOf(log)).toEqual(expect.arrayContaining(['position.v1', 'admitted.v1']));
    expect(foreignHosts(log)).toEqual([]);
    expect(violations).toEqual([]); // the page works under its Content-Security-Policy
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => c.name)).toContain('tidegate_token_spring-sale');
    expect(cookies.map((c) => c.name)).not.toContain('tidegate_ticket_spring-sale');
    expect(start.line.map((w) => w.problem)).toEqual(start.line.map(() => null));
  });

  it('falls back to polling when WebSockets cannot connect, and still lands on the origin once admitted', async () => {
    await createRoom('calm-sale', 'Calm sale', ['/calm/*']);
    const url = `${noSocket.url}/calm/entry`;
    const ahead = 2;
    const start = await fillRoom(noSocket, 'calm-sale', url, ahead);

    const { page, log } = await watchedPage(await newContext({ viewport: DESKTOP }));
    const violations = cspViolations(page);
    await page.goto(url);
    await showsPosition(page, ahead + 1);
    await expectLiveRegion(page, ahead + 1);

    await freePlacesUntilAdmitted(noSocket, 'calm-sale', page, start);
    expect(page.url()).toBe(url);
    expect(origin.requests.at(-1)).toBe('/calm/entry');
    expect(log.positions).toEqual(countdown(ahead + 1));
    // It tried the socket URL it was given, got nothing from it, and kept checking in over HTTP instead.
    const blockedHost = new URL(blockedSocketUrl).host;
    expect(log.webSockets.map((s) => new URL(s.url).host)).toEqual([blockedHost]);
    expect(log.webSockets.every((s) => s.received.length === 0)).toBe(true);
    expect(violations).toEqual([]);
    const checkIns = log.urls.filter((u) => new URL(u).pathname === '/rooms/calm-sale/status').length;
    expect(checkIns).toBeGreaterThanOrEqual(4); // the first, a poll per place, the one that takes the token
    expect(foreignHosts(log)).toEqual([]);
    expect(start.line.map((w) => w.problem)).toEqual(start.line.map(() => null));
  });
});
