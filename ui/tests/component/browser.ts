/**
 * Headless Chromium for the component tests: a fresh profile directory per test file,
 * and a page loaded with the fake service (see global-setup.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { inject } from 'vitest';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  /** Opens the app; `query` picks the fake's start (`service=down`, `pending=...`). */
  open(query?: string): Promise<Page>;
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'corridor-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
  // Failures should name the missing element long before the test's own timeout.
  context.setDefaultTimeout(10_000);
  const base = inject('baseUrl');
  return {
    context,
    async open(query = '') {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(query ? `${base}?${query}` : base);
      await page.waitForSelector('body[data-ready="true"]');
      if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
      return page;
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
