import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HQ_ID, IMPORTED_ID } from '../fake/service';
import { launch, type Browser } from './browser';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('import', () => {
  test('the file picker leads to the report, and Import saves the profile', async () => {
    const page = await browser.open();
    await page.evaluate(() => {
      window.__fake.nextOpen = '/home/alice/office.sswan';
    });
    await page.click('#import-button');
    const dialog = page.locator('dialog.import-preview');
    await dialog.waitFor();
    const openArgs = await page.evaluate(() => window.__fake.calls.find((c) => c.cmd === 'plugin:dialog|open')?.args);
    expect(JSON.stringify(openArgs)).toContain('"extensions":["sswan","mobileconfig","json","xml","ps1","corridor"]');
    await expect(dialog.locator('h2').textContent()).resolves.toBe('Import “Imported Office”?');
    await expect(dialog.locator('.report-table tbody tr').count()).resolves.toBe(3);
    await expect(dialog.locator('.report-table tbody tr.dropped td').allTextContents()).resolves.toEqual([
      'split-routing',
      'dropped: not supported',
    ]);
    // Nothing saved before Import.
    await expect(page.evaluate(() => window.__fake.calls.some((c) => c.cmd === 'import_profile'))).resolves.toBe(false);
    await expect(page.isChecked('#import-remember')).resolves.toBe(true);
    await page.uncheck('#import-remember');
    await dialog.getByRole('button', { name: 'Import' }).click();
    await page.locator(`li.profile[data-profile="${IMPORTED_ID}"]`).waitFor();
    await expect(page.locator('#info').textContent()).resolves.toBe('“Imported Office” was imported.');
    const call = await page.evaluate(() => window.__fake.calls.find((c) => c.cmd === 'import_profile')?.args);
    expect(call).toEqual({ path: '/home/alice/office.sswan', replace: false, remember: false });
    await page.close();
  });

  test('a drop on the window shows the preview; Cancel saves nothing', async () => {
    const page = await browser.open();
    await page.evaluate(() => window.__fake.emitDrag('enter', ['/tmp/office.mobileconfig']));
    await page.locator('#drop-overlay').waitFor({ state: 'visible' });
    await page.evaluate(() => window.__fake.emitDrag('drop', ['/tmp/office.mobileconfig']));
    await page.locator('#drop-overlay').waitFor({ state: 'hidden' });
    const dialog = page.locator('dialog.import-preview');
    await dialog.waitFor();
    await expect(dialog.locator('.file-name').textContent()).resolves.toBe('office.mobileconfig');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect(page.evaluate(() => window.__fake.calls.some((c) => c.cmd === 'import_profile'))).resolves.toBe(false);
    await expect(page.locator('.profile').count()).resolves.toBe(2);
    await page.close();
  });

  test('a file replacing a profile needs the replace confirmation', async () => {
    const page = await browser.open();
    await page.evaluate(() => window.__fake.emitOpenFile('/home/alice/hq.corridor'));
    const dialog = page.locator('dialog.import-preview');
    await dialog.waitFor();
    await expect(dialog.locator('.warning').textContent()).resolves.toContain('You already have a profile “HQ”');
    const importButton = dialog.getByRole('button', { name: 'Import' });
    await expect(importButton.isDisabled()).resolves.toBe(true);
    await page.check('#import-replace');
    await expect(importButton.isEnabled()).resolves.toBe(true);
    await importButton.click();
    await dialog.waitFor({ state: 'detached' });
    const call = await page.evaluate(() => window.__fake.calls.find((c) => c.cmd === 'import_profile')?.args);
    expect(call).toEqual({ path: '/home/alice/hq.corridor', replace: true, remember: true });
    await expect(page.locator(`li.profile[data-profile="${HQ_ID}"]`).count()).resolves.toBe(1);
    await page.close();
  });

  test('files given at start are previewed one after the other', async () => {
    const page = await browser.open('pending=/a/first.sswan&pending=/a/second.json');
    const dialog = page.locator('dialog.import-preview');
    await dialog.locator('.file-name', { hasText: 'first.sswan' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.locator('.file-name', { hasText: 'second.json' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.close();
  });
});
