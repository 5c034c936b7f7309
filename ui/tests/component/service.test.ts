import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launch, type Browser } from './browser';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('service availability', () => {
  test('the banner appears when the service goes away and clears when it is back', async () => {
    const page = await browser.open();
    await expect(page.locator('#service-banner').isHidden()).resolves.toBe(true);
    await page.evaluate(() => window.__fake.setService(false));
    await page.locator('#service-banner').waitFor({ state: 'visible' });
    await expect(page.locator('#service-banner').textContent()).resolves.toContain('The Corridor service is not running.');
    await page.evaluate(() => window.__fake.setService(true));
    await page.locator('#service-banner').waitFor({ state: 'hidden' });
    await page.close();
  });

  test('started without the service: no list, then the list loads when it connects', async () => {
    const page = await browser.open('service=down');
    await page.locator('#service-banner').waitFor({ state: 'visible' });
    await expect(page.locator('.profile').count()).resolves.toBe(0);
    await expect(page.locator('.error').count()).resolves.toBe(0);
    await page.evaluate(() => window.__fake.setService(true));
    await page.locator('.profile').first().waitFor();
    await expect(page.locator('.profile-name').allTextContents()).resolves.toEqual(['Branch Office', 'HQ']);
    await expect(page.locator('#service-banner').isHidden()).resolves.toBe(true);
    await page.close();
  });

  test('a failure shows a plain message with a Details expander', async () => {
    const page = await browser.open();
    await page.evaluate(() => {
      window.__fake.nextOpen = '/home/alice/notes.txt';
    });
    await page.click('#import-button');
    const error = page.locator('#errors .error');
    await error.waitFor();
    await expect(error.locator('.error-message').textContent()).resolves.toBe('This file is not a VPN profile Corridor can read.');
    await expect(error.locator('pre').isVisible()).resolves.toBe(false);
    await error.locator('summary').click();
    await expect(error.locator('pre').textContent()).resolves.toContain('no known profile format');
    await error.getByRole('button', { name: 'Dismiss' }).click();
    await error.waitFor({ state: 'detached' });
    await page.close();
  });

  test('dark theme applies under prefers-color-scheme: dark', async () => {
    const page = await browser.open();
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    await expect(background()).resolves.toBe('rgb(246, 247, 249)');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect(background()).resolves.toBe('rgb(21, 24, 28)');
    // The setting overrides the system choice.
    await page.click('#tab-settings');
    await page.selectOption('#set-theme', 'light');
    await expect(background()).resolves.toBe('rgb(246, 247, 249)');
    await page.selectOption('#set-theme', 'system');
    await expect(background()).resolves.toBe('rgb(21, 24, 28)');
    await page.close();
  });
});
