/**
 * A real browser for tests: Debian's headless Chromium (`apt-get install chromium`; `.ci/run`
 * installs it) driven by puppeteer-core, which downloads no browser. Every console message,
 * page error and request is recorded, so a test can assert that a page logged no error and
 * asked the network for nothing.
 */
import fs from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.D2_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p)) ?? '/usr/bin/chromium';

export interface BrowserPage {
  browser: Browser;
  page: Page;
  /** Console errors and warnings, and uncaught page errors, as text. */
  problems: string[];
  /** Every URL the page requested (data: URIs included). */
  requests: string[];
  close(): Promise<void>;
}

/** Launch headless Chromium with one page that records what it logs and requests. */
export async function openBrowser(viewport = { width: 1400, height: 900 }): Promise<BrowserPage> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set D2_CHROMIUM)`);
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new', '--disable-gpu'] });
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url().slice(0, 120)}`));
  page.on('request', (r) => requests.push(r.url()));
  return { browser, page, problems, requests, close: () => browser.close() };
}
