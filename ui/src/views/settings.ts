/**
 * Settings: start at login, a profile to connect at start, the default profile (the one
 * the tray toggles), notifications, and the theme. Each change is saved at once.
 */
import type { Context } from '../context';
import { h } from '../dom';
import { isServiceDown, toUiError } from '../errors';
import { applyTheme, loadTheme, type ThemeChoice } from '../theme';
import type { ProfileSummary, Settings } from '../types';

export class SettingsView {
  readonly root: HTMLElement;
  private readonly startAtLogin: HTMLInputElement;
  private readonly connectAtStart: HTMLSelectElement;
  private readonly defaultProfile: HTMLSelectElement;
  private readonly notifications: HTMLInputElement;
  private readonly saved: HTMLElement;

  constructor(private readonly ctx: Context) {
    this.startAtLogin = h('input', { id: 'set-start-at-login', type: 'checkbox' });
    this.connectAtStart = h('select', { id: 'set-connect-at-start' });
    this.defaultProfile = h('select', { id: 'set-default-profile' });
    this.notifications = h('input', { id: 'set-notifications', type: 'checkbox' });
    const theme = h(
      'select',
      { id: 'set-theme' },
      h('option', { value: 'system' }, 'Same as the system'),
      h('option', { value: 'light' }, 'Light'),
      h('option', { value: 'dark' }, 'Dark'),
    );
    theme.value = loadTheme();
    theme.addEventListener('change', () => applyTheme(theme.value as ThemeChoice));
    this.saved = h('p', { class: 'result', role: 'status' });
    for (const el of [this.startAtLogin, this.connectAtStart, this.defaultProfile, this.notifications]) {
      el.addEventListener('change', () => void this.save());
    }
    this.root = h(
      'section',
      { id: 'view-settings', class: 'view', 'aria-labelledby': 'settings-title', hidden: true },
      h('h2', { id: 'settings-title' }, 'Settings'),
      h(
        'form',
        { class: 'form settings', onsubmit: (e: Event) => e.preventDefault() },
        h('label', { class: 'check' }, this.startAtLogin, ' Start Corridor when I sign in'),
        h('label', { for: 'set-connect-at-start' }, 'Connect when Corridor starts'),
        this.connectAtStart,
        h('label', { for: 'set-default-profile' }, 'Default profile (connected from the tray icon)'),
        this.defaultProfile,
        h('label', { class: 'check' }, this.notifications, ' Show notifications when the connection changes'),
        h('label', { for: 'set-theme' }, 'Appearance'),
        theme,
      ),
      this.saved,
    );
    ctx.store.on('settings', (s) => this.show(s));
    ctx.store.on('profiles', () => this.ctx.store.settings && this.show(this.ctx.store.settings));
  }

  async load(): Promise<void> {
    try {
      this.ctx.store.setSettings(await this.ctx.api.getSettings());
    } catch (e) {
      const error = toUiError(e);
      if (!isServiceDown(error)) this.ctx.notices.error(error);
    }
  }

  private options(select: HTMLSelectElement, profiles: ProfileSummary[], value: string | null, none: string): void {
    select.replaceChildren(
      h('option', { value: '' }, none),
      ...profiles.map((p) => h('option', { value: p.id }, p.name)),
    );
    select.value = value ?? '';
  }

  private show(s: Settings): void {
    this.startAtLogin.checked = s.start_at_login;
    this.notifications.checked = s.notifications;
    this.options(this.connectAtStart, this.ctx.store.profiles, s.connect_at_start, 'Do not connect');
    this.options(this.defaultProfile, this.ctx.store.profiles, s.default_profile, 'None');
  }

  private async save(): Promise<void> {
    const settings: Settings = {
      start_at_login: this.startAtLogin.checked,
      connect_at_start: this.connectAtStart.value || null,
      default_profile: this.defaultProfile.value || null,
      notifications: this.notifications.checked,
    };
    try {
      const saved = await this.ctx.api.setSettings(settings);
      this.ctx.store.setSettings(saved);
      this.saved.textContent = 'Settings saved.';
      if (saved.default_profile !== this.ctx.store.profiles.find((p) => p.is_default)?.id) await this.ctx.refresh();
    } catch (e) {
      this.ctx.notices.error(toUiError(e));
      if (this.ctx.store.settings) this.show(this.ctx.store.settings);
    }
  }
}
