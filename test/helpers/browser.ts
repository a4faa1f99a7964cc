/**
 * Headless Chromium for the tests that look at a page (the browser example, the board): Debian's
 * chromium driven by playwright-core, nothing downloaded. `launch` gives every browser a fresh
 * temporary profile (user-data-dir) of its own and removes it on close; the flags keep Chromium
 * from calling home (no background networking, updates, sync or QUIC).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** For a tap test's `skip` option: false where Chromium is installed, else why the test is skipped. */
export const skipWithoutChromium: false | string = existsSync(CHROMIUM) ? false : 'skipped: no chromium (apt-get install chromium)';

/** A headless Chromium, closed when `t` ends. */
export async function launchChromium(t: { teardown(fn: () => unknown): void }): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  return browser;
}

/** What a page did: every request's URL, and its uncaught errors and console errors. */
export interface PageRecord {
  requests: string[];
  errors: string[];
}

/** Starts recording `page`'s requests and errors (call before the first goto). */
export function recordPage(page: Page): PageRecord {
  const record: PageRecord = { requests: [], errors: [] };
  page.on('request', (r) => record.requests.push(r.url()));
  page.on('pageerror', (e) => record.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') record.errors.push(m.text()); });
  return record;
}

/** The requests that went anywhere but `origin` (data: URLs stay in the page). */
export function foreignRequests(record: PageRecord, origin: string): string[] {
  return record.requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:'));
}
