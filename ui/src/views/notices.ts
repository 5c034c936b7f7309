/**
 * The page-wide message areas: the "service not running" banner, the error area, short
 * confirmations, and the screen reader's polite live region.
 */
import { h } from '../dom';
import type { Store } from '../store';
import type { UiError } from '../types';
import { errorBox } from './dialogs';

export class Notices {
  private readonly banner: HTMLElement;
  private readonly errors: HTMLElement;
  private readonly info: HTMLElement;
  private readonly live: HTMLElement;

  constructor(root: HTMLElement, store: Store) {
    this.banner = h('div', { id: 'service-banner', class: 'banner', role: 'alert', hidden: true });
    this.errors = h('div', { id: 'errors' });
    this.info = h('div', { id: 'info', class: 'info', role: 'status', hidden: true });
    this.live = h('div', { id: 'live', class: 'visually-hidden', 'aria-live': 'polite' });
    root.append(this.banner, this.errors, this.info, this.live);
    store.on('service', (s) => {
      this.banner.hidden = s.connected;
      if (!s.connected) {
        this.banner.replaceChildren(
          h('strong', {}, 'The Corridor service is not running.'),
          ' ',
          s.message ?? 'You cannot connect until it is back. The app will reconnect to it by itself.',
        );
      }
    });
  }

  /** Shows a failure until dismissed; a second failure replaces the first. */
  error(error: UiError): void {
    const box = errorBox(error, () => box.remove());
    this.errors.replaceChildren(box);
  }

  clearError(): void {
    this.errors.replaceChildren();
  }

  /** A short confirmation such as "Profile imported". */
  done(text: string): void {
    this.info.hidden = false;
    this.info.textContent = text;
  }

  /** Spoken by screen readers without moving focus. */
  announce(text: string): void {
    this.live.textContent = text;
  }
}
