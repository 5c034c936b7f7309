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

describe('profile list and connecting', () => {
  test('lists profiles with the managed badge and posture', async () => {
    const page = await browser.open();
    const names = await page.locator('.profile-name').allTextContents();
    expect(names).toEqual(['Branch Office', 'HQ']);
    await expect(page.locator(`${card(BRANCH_ID)} .badge.managed`).textContent()).resolves.toBe('Managed');
    await expect(page.locator(`${card(HQ_ID)} .badge.managed`).count()).resolves.toBe(0);
    await expect(page.locator(`${card(BRANCH_ID)} .badge.posture`).textContent()).resolves.toBe('Older security settings');
    await expect(page.locator(`${card(HQ_ID)} .badge.default`).textContent()).resolves.toBe('Default');
    await page.close();
  });

  test('connect asks for the password, then shows the virtual IP and suite', async () => {
    const page = await browser.open();
    await page.click(`${card(HQ_ID)} button.connect`);
    const prompt = page.locator('dialog.prompt');
    await prompt.waitFor();
    await expect(page.inputValue('#prompt-username')).resolves.toBe('alice');
    await expect(prompt.locator('p').first().textContent()).resolves.toBe('Enter your password to connect.');
    await page.fill('#prompt-secret', 'hunter2');
    await page.check('#prompt-remember');
    await prompt.getByRole('button', { name: 'Connect' }).click();
    await page.waitForSelector(`${card(HQ_ID)}[data-state="connected"]`);
    await expect(page.locator(`${card(HQ_ID)} .virtual-ip`).textContent()).resolves.toBe('10.8.0.17');
    await expect(page.locator(`${card(HQ_ID)} .state`).textContent()).resolves.toBe('Connected');
    await expect(page.locator(`${card(HQ_ID)} .bytes-in`).textContent()).resolves.toBe('2.0 KB');
    await page.click(`${card(HQ_ID)} .connection-details summary`);
    await expect(page.locator(`${card(HQ_ID)} .suites`).textContent()).resolves.toContain('aes256gcm16-prfsha384-ecp384');
    await expect(page.locator('#live').textContent()).resolves.toBe('HQ: Connected');
    const connects = await page.evaluate(() => window.__fake.calls.filter((c) => c.cmd === 'connect').map((c) => c.args));
    expect(connects).toEqual([
      { profile: HQ_ID, secrets: {}, remember: false },
      { profile: HQ_ID, secrets: { password: 'hunter2' }, remember: true },
    ]);
    await page.evaluate((id) => window.__fake.emitStats(id, { bytes_in: 5 * 1024 * 1024, bytes_out: 10, packets_in: 1, packets_out: 1, uptime_secs: 125 }), HQ_ID);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '2 min 5 s', `${card(HQ_ID)} .uptime`);
    await expect(page.locator(`${card(HQ_ID)} .bytes-in`).textContent()).resolves.toBe('5.0 MB');

    await page.click(`${card(HQ_ID)} button.connect`);
    await page.waitForSelector(`${card(HQ_ID)}[data-state="disconnected"]`);
    await expect(page.locator(`${card(HQ_ID)} .reason`).textContent()).resolves.toContain('Disconnected by you.');
    await expect(page.locator(`${card(HQ_ID)} .live`).isHidden()).resolves.toBe(true);
    await page.close();
  });

  test('cancelling the prompt with Escape connects nothing and puts focus back', async () => {
    const page = await browser.open();
    const button = page.locator(`${card(HQ_ID)} button.connect`);
    await button.focus();
    await page.keyboard.press('Enter');
    await page.locator('dialog.prompt').waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'prompt-secret');
    await page.keyboard.press('Escape');
    await page.locator('dialog.prompt').waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.activeElement?.classList.contains('connect'));
    await expect(page.locator(`${card(HQ_ID)}`).getAttribute('data-state')).resolves.toBe('disconnected');
    await expect(page.locator('.error').count()).resolves.toBe(0);
    await page.close();
  });

  test('keyboard only: Tab to Connect, Space, type the password, Enter', async () => {
    const page = await browser.open();
    // Walk the tab order from the top of the page to HQ's connect button.
    let found = false;
    for (let i = 0; i < 30 && !found; i += 1) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(
        (id) => document.activeElement?.closest(`li[data-profile="${id}"]`) !== null && document.activeElement?.classList.contains('connect') === true,
        HQ_ID,
      );
    }
    expect(found).toBe(true);
    await page.keyboard.press('Space');
    await page.locator('dialog.prompt').waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'prompt-secret');
    await page.keyboard.type('hunter2');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${card(HQ_ID)}[data-state="connected"]`);
    await page.waitForFunction(() => document.activeElement?.classList.contains('connect'));
    await page.close();
  });

  test('a certificate profile asks for the password, then the key passphrase', async () => {
    const page = await browser.open();
    await page.evaluate((id) => {
      const p = window.__fake.profiles.get(id);
      if (p) p.needs = ['password', 'key_passphrase'];
    }, HQ_ID);
    await page.click(`${card(HQ_ID)} button.connect`);
    await page.locator('dialog.prompt h2', { hasText: 'Sign in to HQ' }).waitFor();
    await page.fill('#prompt-secret', 'pw');
    await page.keyboard.press('Enter');
    const second = page.locator('dialog.prompt h2', { hasText: 'Unlock your certificate for HQ' });
    await second.waitFor();
    await expect(page.locator('#prompt-username').count()).resolves.toBe(0);
    await expect(page.locator('label[for="prompt-secret"]').textContent()).resolves.toBe('Certificate passphrase');
    await page.fill('#prompt-secret', 'kp');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${card(HQ_ID)}[data-state="connected"]`);
    const last = await page.evaluate(() => window.__fake.calls.filter((c) => c.cmd === 'connect').pop()?.args);
    expect(last).toEqual({ profile: HQ_ID, secrets: { password: 'pw', key_passphrase: 'kp' }, remember: false });
    await page.close();
  });

  test('a managed profile with a remembered password connects without a prompt', async () => {
    const page = await browser.open();
    await page.click(`${card(BRANCH_ID)} button.connect`);
    await page.waitForSelector(`${card(BRANCH_ID)}[data-state="connected"]`);
    await expect(page.locator('dialog').count()).resolves.toBe(0);
    await page.close();
  });
});
