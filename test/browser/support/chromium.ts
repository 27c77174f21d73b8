/**
 * Debian's Chromium (apt package `chromium`, installed by scripts/ensure-services.sh) driven by playwright-core.
 * Playwright's own browser downloads are never used: nothing may be downloaded on these machines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocket } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Offline and quiet: no sandbox (tests run as root), no background traffic of Chromium's own. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots go (ignored by git, kept by CI). */
export const ARTIFACTS = path.resolve(__dirname, '../../../test-artifacts');

/** Every wait in the browser tier is bounded by this. */
export const WAIT_MS = 20_000;

/**
 * A headless Chromium. Playwright gives each launch a fresh temporary profile (its own --user-data-dir) and each
 * context a fresh cookie jar and cache, so nothing carries over between runs or scenarios.
 */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`bash scripts/ensure-services.sh\` as root (it installs Debian's chromium package)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: WAIT_MS });
}

/** What a page did on the network and showed as its place in line, recorded as it happens. */
export interface PageLog {
  /** Every URL the page asked for: HTTP(S) requests and WebSocket connections. */
  urls: string[];
  webSockets: Array<{ url: string; error: string | null; received: string[] }>;
  /** Each distinct value the page showed in #position-number, in order (kept across the page's reloads). */
  positions: string[];
}

/** Reports #position-number's text to the test on every change; installed in the page before its own scripts. */
const WATCH_POSITION = `document.addEventListener('DOMContentLoaded', function () {
  var el = document.getElementById('position-number');
  if (!el) return;
  var last = '';
  var report = function () {
    var text = el.textContent || '';
    if (text !== '' && text !== last) { last = text; window.__tidegatePosition(text); }
  };
  new MutationObserver(report).observe(el, { childList: true, characterData: true, subtree: true });
  report();
});`;

/** A new page in `context` whose requests, sockets and displayed positions are logged. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; log: PageLog }> {
  const log: PageLog = { urls: [], webSockets: [], positions: [] };
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.setDefaultNavigationTimeout(WAIT_MS);
  page.on('request', (request) => log.urls.push(request.url()));
  page.on('websocket', (ws: WebSocket) => {
    const entry = { url: ws.url(), error: null as string | null, received: [] as string[] };
    log.webSockets.push(entry);
    log.urls.push(ws.url());
    ws.on('socketerror', (error) => (entry.error = error));
    ws.on('framereceived', (frame) => entry.received.push(typeof frame.payload === 'string' ? frame.payload : frame.payload.toString()));
  });
  await page.exposeFunction('__tidegatePosition', (text: string) => void log.positions.push(text));
  await page.addInitScript(WATCH_POSITION);
  return { page, log };
}

/** The hosts outside loopback that a page contacted (data: and blob: URLs are not network requests). */
export function foreignHosts(log: PageLog): string[] {
  return log.urls
    .map((u) => new URL(u))
    .filter((u) => u.protocol !== 'data:' && u.protocol !== 'blob:')
    .map((u) => u.hostname)
    .filter((host) => host !== '127.0.0.1');
}
