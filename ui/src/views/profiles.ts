/**
 * The profile list: one card per profile with its live status and a connect or
 * disconnect button. State and stats events update only their card's small parts.
 */
import { connectWithPrompts } from '../connect-flow';
import type { Context } from '../context';
import { h, setText } from '../dom';
import { toUiError } from '../errors';
import { authLabel, formatBytes, formatUptime, isActive, postureBadge, stateLabel } from '../format';
import type { ConnectionStatus, ProfileSummary, Stats } from '../types';
import { askSecret } from './prompt';

const NO_TRAFFIC_YET: Stats = { bytes_in: 0, bytes_out: 0, packets_in: 0, packets_out: 0, uptime_secs: 0 };

interface Card {
  root: HTMLElement;
  button: HTMLButtonElement;
  state: HTMLElement;
  reason: HTMLElement;
  live: HTMLElement;
  ip: HTMLElement;
  gateway: HTMLElement;
  uptime: HTMLElement;
  bytesIn: HTMLElement;
  bytesOut: HTMLElement;
  suites: HTMLElement;
}

export class ProfilesView {
  readonly root: HTMLElement;
  private readonly list: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly cards = new Map<string, Card>();

  constructor(
    private readonly ctx: Context,
    private readonly openDetails: (profile: ProfileSummary) => void,
    private readonly pickImport: () => void,
  ) {
    this.list = h('ul', { id: 'profile-list', class: 'profile-list', 'aria-label': 'VPN profiles' });
    this.empty = h(
      'p',
      { class: 'empty', hidden: true },
      'No VPN profiles yet. Import the file your IT department gave you, or drop it on this window.',
    );
    this.root = h(
      'section',
      { id: 'view-profiles', class: 'view', 'aria-labelledby': 'profiles-title' },
      h(
        'div',
        { class: 'view-head' },
        h('h2', { id: 'profiles-title' }, 'Connections'),
        h('button', { type: 'button', id: 'import-button', class: 'secondary', onclick: () => this.pickImport() }, 'Import profile…'),
      ),
      this.empty,
      this.list,
    );
    ctx.store.on('profiles', (list) => this.render(list));
    ctx.store.on('status', (s) => this.updateStatus(s));
    ctx.store.on('stats', ({ profile, stats }) => {
      const card = this.cards.get(profile);
      if (card) this.updateStats(card, stats);
    });
  }

  private render(list: ProfileSummary[]): void {
    this.cards.clear();
    this.empty.hidden = list.length > 0;
    this.list.replaceChildren(...list.map((p) => this.card(p).root));
    for (const p of list) {
      const status = this.ctx.store.statuses.get(p.id);
      if (status) this.updateStatus(status);
    }
  }

  private card(p: ProfileSummary): Card {
    const posture = postureBadge(p.posture);
    const nameId = `profile-name-${p.id}`;
    const button = h('button', { type: 'button', class: 'primary connect', 'aria-describedby': nameId, 'data-focus-id': `connect-${p.id}` }, 'Connect');
    const state = h('span', { class: 'state' }, 'Not connected');
    const reason = h('span', { class: 'reason' });
    const ip = h('dd', { class: 'virtual-ip' });
    const gateway = h('dd', { class: 'gateway-ip' });
    const uptime = h('dd', { class: 'uptime' });
    const bytesIn = h('dd', { class: 'bytes-in' });
    const bytesOut = h('dd', { class: 'bytes-out' });
    const suites = h('dl', { class: 'suites' });
    const live = h(
      'div',
      { class: 'live', hidden: true },
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Your address'), ip,
        h('dt', {}, 'Server address'), gateway,
        h('dt', {}, 'Connected for'), uptime,
        h('dt', {}, 'Received'), bytesIn,
        h('dt', {}, 'Sent'), bytesOut,
      ),
      h('details', { class: 'connection-details' }, h('summary', {}, 'Connection details'), suites),
    );
    const root = h(
      'li',
      { class: 'profile', 'data-profile': p.id, 'data-state': 'disconnected' },
      h(
        'div',
        { class: 'profile-head' },
        h('h3', { id: nameId, class: 'profile-name' }, p.name),
        p.managed ? h('span', { class: 'badge managed', title: 'Set up by your IT department' }, 'Managed') : null,
        p.is_default ? h('span', { class: 'badge default' }, 'Default') : null,
        h('span', { class: `badge posture ${posture.tone}`, title: posture.title }, posture.label),
      ),
      h('p', { class: 'profile-meta' }, `${p.gateway} · ${authLabel(p.auth)}`),
      h('p', { class: 'status-line' }, state, reason),
      live,
      h(
        'div',
        { class: 'profile-actions' },
        button,
        h('button', { type: 'button', class: 'secondary details-button', 'aria-describedby': nameId, 'data-focus-id': `details-${p.id}`, onclick: () => this.openDetails(p) }, 'Details'),
      ),
    );
    button.addEventListener('click', () => void this.toggle(p));
    const card: Card = { root, button, state, reason, live, ip, gateway, uptime, bytesIn, bytesOut, suites };
    this.cards.set(p.id, card);
    return card;
  }

  private updateStatus(s: ConnectionStatus): void {
    const card = this.cards.get(s.profile.id);
    if (!card) return;
    const previous = card.root.dataset.state;
    card.root.dataset.state = s.state.state;
    setText(card.state, stateLabel(s.state));
    setText(card.reason, s.reason ? ` — ${s.reason}` : '');
    setText(card.button, isActive(s.state) ? 'Disconnect' : 'Connect');
    card.button.disabled = s.state.state === 'disconnecting';
    const connected = s.state.state === 'connected' && s.details !== null;
    card.live.hidden = !connected;
    if (connected && s.details) {
      setText(card.ip, s.details.virtual_ips.join(', ') || '(none)');
      setText(card.gateway, s.details.gateway);
      const rows: [string, string][] = [
        ['Key exchange (IKE)', s.details.ike_suite],
        ['Data encryption (ESP)', s.details.esp_suite],
        ['Routed networks', s.details.routes.join(', ') || '(all traffic)'],
        ['Name servers', s.details.dns_servers.join(', ') || '(none)'],
        ['Domains', s.details.dns_domains.join(', ') || '(none)'],
      ];
      card.suites.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    }
    // The service counts once a second; until its first count a new tunnel shows zeros
    // rather than empty fields.
    if (s.stats) this.updateStats(card, s.stats);
    else if (connected) this.updateStats(card, NO_TRAFFIC_YET);
    if (previous !== s.state.state) {
      this.ctx.notices.announce(`${s.profile.name}: ${stateLabel(s.state)}${s.reason ? `. ${s.reason}` : ''}`);
    }
  }

  private updateStats(card: Card, stats: Stats): void {
    setText(card.uptime, formatUptime(stats.uptime_secs));
    setText(card.bytesIn, formatBytes(stats.bytes_in));
    setText(card.bytesOut, formatBytes(stats.bytes_out));
  }

  private async toggle(p: ProfileSummary): Promise<void> {
    const { api, store, notices } = this.ctx;
    const status = store.statuses.get(p.id);
    notices.clearError();
    if (status && isActive(status.state)) {
      try {
        await api.disconnect(p.id);
      } catch (e) {
        notices.error(toUiError(e));
      }
      return;
    }
    let username: string | undefined;
    const outcome = await connectWithPrompts(api, p, async (profile, needs, why) => {
      if (needs === 'password' && username === undefined) {
        username = await api.getProfile(profile.id).then(
          (d) => {
            const auth = d.profile.auth as Record<string, unknown> | undefined;
            return typeof auth?.eap_identity === 'string' ? auth.eap_identity : '';
          },
          () => '',
        );
      }
      return askSecret(profile, needs, why.message, username);
    });
    if (outcome.kind === 'failed') notices.error(outcome.error);
  }
}
