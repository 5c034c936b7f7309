/**
 * Wires the views to the store and the service's events, and loads the first data.
 * Event handlers only update the store; each view redraws its own small part.
 */
import { api as realApi, on, type Api } from './api';
import type { Context } from './context';
import { h } from './dom';
import { isServiceDown, toUiError } from './errors';
import { Store } from './store';
import { applyTheme, loadTheme } from './theme';
import { showDetails } from './views/details';
import { Importer } from './views/import';
import { LogsView } from './views/logs';
import { Notices } from './views/notices';
import { ProfilesView } from './views/profiles';
import { SettingsView } from './views/settings';

type Tab = 'profiles' | 'logs' | 'settings';

export async function startApp(root: HTMLElement, api: Api = realApi): Promise<void> {
  applyTheme(loadTheme());
  const store = new Store();
  const header = h('header', { class: 'app-header' });
  const messages = h('div', { class: 'messages' });
  const main = h('main', { id: 'main' });
  root.replaceChildren(header, messages, main);
  const notices = new Notices(messages, store);

  const refresh = async (): Promise<void> => {
    try {
      const [profiles, statuses] = await Promise.all([api.listProfiles(), api.status()]);
      store.setProfiles(profiles);
      for (const s of statuses) store.setStatus(s);
    } catch (e) {
      const error = toUiError(e);
      if (isServiceDown(error)) store.setService({ ...store.service, connected: false, message: error.message });
      else notices.error(error);
    }
  };
  const ctx: Context = { api, store, notices, refresh };

  const importer = new Importer(ctx);
  const profiles = new ProfilesView(ctx, (p) => void showDetails(ctx, p), () => void importer.pick());
  const logs = new LogsView(ctx);
  const settings = new SettingsView(ctx);
  const views: Record<Tab, HTMLElement> = { profiles: profiles.root, logs: logs.root, settings: settings.root };
  main.append(profiles.root, logs.root, settings.root);

  const tabs = (Object.keys(views) as Tab[]).map((tab) =>
    h(
      'button',
      { type: 'button', class: 'tab', id: `tab-${tab}`, 'aria-controls': `view-${tab}`, 'aria-current': tab === 'profiles' ? 'page' : null },
      { profiles: 'Connections', logs: 'Logs', settings: 'Settings' }[tab],
    ),
  );
  tabs.forEach((button, i) => {
    const tab = (Object.keys(views) as Tab[])[i] as Tab;
    button.addEventListener('click', () => {
      for (const [name, view] of Object.entries(views)) view.hidden = name !== tab;
      for (const b of tabs) b.removeAttribute('aria-current');
      button.setAttribute('aria-current', 'page');
    });
  });
  header.append(h('h1', {}, 'Corridor'), h('nav', { 'aria-label': 'Sections' }, tabs));

  // Events first, so nothing that happens while loading is missed.
  await Promise.all([
    on('service', (info) => {
      const wasDown = !store.service.connected;
      store.setService(info);
      if (info.connected && wasDown) {
        void refresh();
        void settings.load();
        void logs.load();
      }
    }),
    on('state', (s) => store.setStatus(s)),
    on('stats', (s) => store.setStats(s.profile, s.stats)),
    on('log', (line) => store.addLog(line)),
    on('open-file', ({ path }) => importer.enqueue([path])),
    importer.watchDrops(),
  ]);

  try {
    store.setService(await api.serviceInfo());
  } catch (e) {
    notices.error(toUiError(e));
  }
  await Promise.all([refresh(), settings.load(), logs.load()]);
  try {
    const pending = await api.takePendingFiles();
    if (pending.length > 0) importer.enqueue(pending);
  } catch (e) {
    notices.error(toUiError(e));
  }
  document.body.dataset.ready = 'true';
}
