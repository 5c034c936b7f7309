/**
 * Importing a profile file: from the file picker, a drop on the window, a file given
 * at start or by the `open-file` event. Every path first shows the importer's report
 * (a dry run: nothing saved) and is imported only when the user presses Import.
 */
import { open } from '@tauri-apps/plugin-dialog';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import type { Context } from '../context';
import { h } from '../dom';
import { toUiError } from '../errors';
import { authLabel } from '../format';
import type { ImportPreview } from '../types';
import { errorBox, openDialog } from './dialogs';

export const PROFILE_EXTENSIONS = ['sswan', 'mobileconfig', 'json', 'xml', 'ps1', 'corridor'];

export class Importer {
  private readonly queue: string[] = [];
  private busy = false;
  private readonly overlay: HTMLElement;

  constructor(private readonly ctx: Context) {
    this.overlay = h(
      'div',
      { id: 'drop-overlay', class: 'drop-overlay', hidden: true, 'aria-hidden': 'true' },
      h('p', {}, 'Drop a VPN profile file to import it'),
    );
    document.body.append(this.overlay);
  }

  /** Listens for files dropped on the window. */
  async watchDrops(): Promise<void> {
    await getCurrentWebview().onDragDropEvent((event) => {
      const p = event.payload;
      if (p.type === 'enter' || p.type === 'over') this.overlay.hidden = false;
      else if (p.type === 'leave') this.overlay.hidden = true;
      else if (p.type === 'drop') {
        this.overlay.hidden = true;
        this.enqueue(p.paths);
      }
    });
  }

  async pick(): Promise<void> {
    try {
      const path = await open({
        multiple: false,
        directory: false,
        title: 'Import a VPN profile',
        filters: [{ name: 'VPN profiles', extensions: PROFILE_EXTENSIONS }],
      });
      if (typeof path === 'string') this.enqueue([path]);
    } catch (e) {
      this.ctx.notices.error(toUiError(e));
    }
  }

  /** Files are shown one after the other, never two previews at once. */
  enqueue(paths: string[]): void {
    this.queue.push(...paths);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let path = this.queue.shift(); path !== undefined; path = this.queue.shift()) {
        await this.previewAndImport(path);
      }
    } finally {
      this.busy = false;
    }
  }

  private async previewAndImport(path: string): Promise<void> {
    const { api, notices } = this.ctx;
    let preview: ImportPreview;
    try {
      preview = await api.previewImport(path);
    } catch (e) {
      notices.error(toUiError(e));
      return;
    }
    const d = openDialog(`Import “${preview.profile.name}”?`, { className: 'import-preview' });
    const rows = preview.report.map((note) =>
      h('tr', { class: note.outcome.startsWith('dropped') ? 'dropped' : 'mapped' }, h('td', {}, note.source), h('td', {}, note.outcome)),
    );
    const replace = h('input', { id: 'import-replace', type: 'checkbox' });
    const remember = h('input', { id: 'import-remember', type: 'checkbox', checked: true });
    const carried = preview.carries.password && preview.carries.key_passphrase
      ? 'the password and certificate passphrase'
      : preview.carries.password
        ? 'the password'
        : 'the certificate passphrase';
    const errorArea = h('div', { class: 'dialog-error' });
    d.body.append(h('div', { class: 'dialog-content' },
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'File'), h('dd', { class: 'file-name' }, preview.file_name),
        h('dt', {}, 'Server'), h('dd', {}, preview.profile.gateway),
        h('dt', {}, 'Sign-in'), h('dd', {}, authLabel(preview.profile.auth)),
        h('dt', {}, 'Signed'), h('dd', {}, preview.signed ? 'Yes, by a key this computer trusts' : 'No'),
      ),
      h(
        'details',
        { class: 'report', open: true },
        h('summary', {}, `What the importer did with the file (${preview.report.length} settings)`),
        h(
          'table',
          { class: 'report-table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'In the file'), h('th', { scope: 'col' }, 'Result'))),
          h('tbody', {}, rows),
        ),
      ),
      preview.replaces
        ? h(
            'div',
            { class: 'warning' },
            h('p', {}, `You already have a profile “${preview.replaces.name}”. Importing replaces it.`),
            h('label', { class: 'check' }, replace, ` Replace “${preview.replaces.name}”`),
          )
        : null,
      preview.carries.password || preview.carries.key_passphrase
        ? h('label', { class: 'check' }, remember, ` Keep ${carried} the file carries (saved in your keychain)`)
        : null,
      errorArea,
    ));
    const importButton = h('button', { type: 'button', class: 'primary', id: 'import-confirm' }, 'Import');
    if (preview.replaces) {
      importButton.disabled = true;
      replace.addEventListener('change', () => (importButton.disabled = !replace.checked));
    }
    importButton.addEventListener('click', async () => {
      importButton.disabled = true;
      try {
        const keep = (preview.carries.password || preview.carries.key_passphrase) && remember.checked;
        const result = await api.importProfile(preview.path, preview.replaces !== null && replace.checked, keep);
        d.close();
        const extra = result.notes.length > 0 ? ` ${result.notes.join(' ')}` : '';
        notices.done(`“${result.profile.name}” was imported.${extra}`);
        await this.ctx.refresh();
      } catch (e) {
        errorArea.replaceChildren(errorBox(toUiError(e)));
        importButton.disabled = false;
      }
    });
    d.actions.append(
      h('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Cancel'),
      importButton,
    );
    await d.closed;
  }
}
