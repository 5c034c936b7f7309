/**
 * Modal dialogs on the native `<dialog>` element: showModal() makes the rest of the
 * page inert and moves focus inside, Escape closes it; we put focus back where it was.
 */
import { h } from '../dom';
import type { UiError } from '../types';

export interface DialogHandle {
  dialog: HTMLDialogElement;
  body: HTMLElement;
  actions: HTMLElement;
  close: () => void;
  /** Resolves when the dialog is closed, whichever way. */
  closed: Promise<void>;
}

let counter = 0;

export function openDialog(title: string, opts: { className?: string; onClose?: () => void } = {}): DialogHandle {
  counter += 1;
  const titleId = `dialog-title-${counter}`;
  const body = h('div', { class: 'dialog-body' });
  const actions = h('div', { class: 'dialog-actions' });
  const dialog = h(
    'dialog',
    { class: `dialog ${opts.className ?? ''}`, 'aria-labelledby': titleId },
    h('h2', { id: titleId }, title),
    body,
    actions,
  );
  const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  // A list redrawn while the dialog was open replaces the opener; find its successor.
  const focusKey = previous?.dataset.focusId;
  let resolve: () => void = () => undefined;
  const closed = new Promise<void>((r) => (resolve = r));
  dialog.addEventListener('close', () => {
    dialog.remove();
    opts.onClose?.();
    const successor = focusKey ? document.querySelector<HTMLElement>(`[data-focus-id="${focusKey}"]`) : null;
    (previous?.isConnected ? previous : successor)?.focus();
    resolve();
  });
  document.body.append(dialog);
  queueMicrotask(() => {
    if (!dialog.isConnected) return;
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>('[autofocus], input:not([disabled]), select, textarea, button:not([disabled])');
    first?.focus();
  });
  return { dialog, body, actions, close: () => dialog.close(), closed };
}

/** Asks a yes/no question; resolves true only when the user confirms. */
export function confirmDialog(title: string, text: string, confirmLabel: string, danger = false): Promise<boolean> {
  const d = openDialog(title, { className: 'confirm' });
  let answer = false;
  d.body.append(h('p', {}, text));
  d.actions.append(
    h('button', { type: 'button', class: 'secondary', autofocus: true, onclick: () => d.close() }, 'Cancel'),
    h('button', { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => { answer = true; d.close(); } }, confirmLabel),
  );
  return d.closed.then(() => answer);
}

/** A failure in plain words, with the technical text behind a "Details" expander. */
export function errorBox(error: UiError, onDismiss?: () => void): HTMLElement {
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', { class: 'error-message' }, error.message),
    error.details
      ? h('details', { class: 'error-details' }, h('summary', {}, 'Details'), h('pre', {}, error.details))
      : null,
    onDismiss ? h('button', { type: 'button', class: 'link', onclick: onDismiss }, 'Dismiss') : null,
  );
}
