import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BRANCH_ID, HQ_ID } from '../fake/service';
import { launch, type Browser } from './browser';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const card = (id: string) => `li.profile[data-profile="${id}"]`;

describe('profile details, logs and settings', () => {
  test('a managed profile shows locked fields as locked and not editable', async () => {
    const page = await browser.open();
    await page.click(`${card(BRANCH_ID)} .details-button`);
    const dialog = page.locator('dialog.details');
    await dialog.waitFor();
    const user = page.locator('#field-auth-eap_identity');
    await expect(user.getAttribute('readonly')).resolves.toBe('');
    await expect(page.locator('#field-auth-eap_identity-lock').textContent()).resolves.toContain('Managed by your IT department');
    await user.click();
    await page.keyboard.type('mallory');
    await expect(user.inputValue()).resolves.toBe('alice');
    await expect(page.locator('#field-name').getAttribute('readonly')).resolves.toBeNull();
    await expect(dialog.locator('dd[data-path="gateway.host"]').textContent()).resolves.toContain('Managed by your IT department');
    await expect(page.locator('#remove-profile').isHidden()).resolves.toBe(true);
    await expect(page.locator('#forget-secrets').isEnabled()).resolves.toBe(true);
    await page.click('#forget-secrets');
    await page.waitForFunction(() => (document.getElementById('forget-secrets') as HTMLButtonElement).disabled);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.activeElement?.classList.contains('details-button'));
    await page.close();
  });

  test('editing the name and user name sends a merge patch of the changes', async () => {
    const page = await browser.open();
    await page.click(`${card(HQ_ID)} .details-button`);
    await page.locator('dialog.details').waitFor();
    await page.fill('#field-name', 'Head Office');
    await page.fill('#field-auth-eap_identity', 'alice.smith');
    await page.click('#save-profile');
    await page.locator('dialog.details').waitFor({ state: 'detached' });
    await page.locator('.profile-name', { hasText: 'Head Office' }).waitFor();
    const edit = await page.evaluate(() => window.__fake.calls.find((c) => c.cmd === 'edit_profile')?.args);
    expect(edit).toEqual({ profile: HQ_ID, changes: { name: 'Head Office', auth: { eap_identity: 'alice.smith' } } });
    await page.close();
  });

  test('export uses the save dialog; remove asks first', async () => {
    const page = await browser.open();
    await page.evaluate(() => {
      window.__fake.nextSave = '/home/alice/HQ.json';
    });
    await page.click(`${card(HQ_ID)} .details-button`);
    await page.locator('dialog.details').waitFor();
    await page.click('#export-profile');
    await page.locator('#info', { hasText: 'Profile saved to /home/alice/HQ.json.' }).waitFor();
    await page.click('#remove-profile');
    const confirm = page.locator('dialog.confirm');
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    await expect(page.evaluate(() => window.__fake.calls.some((c) => c.cmd === 'remove_profile'))).resolves.toBe(false);
    await page.click('#remove-profile');
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await page.locator('dialog.details').waitFor({ state: 'detached' });
    await page.locator(card(HQ_ID)).waitFor({ state: 'detached' });
    await page.close();
  });

  test('logs: recent lines, level filter, live lines, diagnostic bundle', async () => {
    const page = await browser.open();
    await page.click('#tab-logs');
    await page.locator('#view-logs').waitFor({ state: 'visible' });
    await expect(page.locator('#view-profiles').isHidden()).resolves.toBe(true);
    const messages = () => page.locator('#log-list .message').allTextContents();
    await expect(messages()).resolves.toEqual(['service started', 'gateway offered a weak group']);
    await page.selectOption('#log-level', 'debug');
    await expect(messages()).resolves.toEqual(['loaded 2 profiles', 'service started', 'gateway offered a weak group']);
    await page.selectOption('#log-level', 'warn');
    await expect(messages()).resolves.toEqual(['gateway offered a weak group']);
    await page.evaluate(() => {
      window.__fake.emitLog('info', 'connected to the gateway');
      window.__fake.emitLog('error', 'gateway stopped answering');
    });
    await page.locator('#log-list .message', { hasText: 'gateway stopped answering' }).waitFor();
    await expect(messages()).resolves.toEqual(['gateway offered a weak group', 'gateway stopped answering']);
    await page.evaluate(() => {
      window.__fake.nextSave = '/home/alice/diag.zip';
    });
    await page.click('#export-diagnostics');
    await page.locator('#view-logs .result', { hasText: 'Diagnostic bundle saved to /home/alice/diag.zip (3 files).' }).waitFor();
    await page.close();
  });

  test('settings are shown and saved on change', async () => {
    const page = await browser.open();
    await page.click('#tab-settings');
    await expect(page.inputValue('#set-default-profile')).resolves.toBe(HQ_ID);
    await expect(page.isChecked('#set-notifications')).resolves.toBe(true);
    await page.selectOption('#set-connect-at-start', BRANCH_ID);
    await page.locator('#view-settings .result', { hasText: 'Settings saved.' }).waitFor();
    await page.check('#set-start-at-login');
    await page.waitForFunction(() => window.__fake.settings.start_at_login);
    const settings = await page.evaluate(() => window.__fake.settings);
    expect(settings).toEqual({ start_at_login: true, connect_at_start: BRANCH_ID, default_profile: HQ_ID, notifications: true });
    await page.close();
  });
});
