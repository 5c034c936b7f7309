/**
 * The logs view: recent lines from the service, new `log` events appended one row at a
 * time, a level filter, and "Export diagnostic bundle".
 */
import { save } from '@tauri-apps/plugin-dialog';
import type { Context } from '../context';
import { h } from '../dom';
import { isServiceDown, toUiError } from '../errors';
import { formatTime, levelAtLeast } from '../format';
import type { LogLevel, LogLine } from '../types';

const FILTERS: [LogLevel, string][] = [
  ['debug', 'Everything'],
  ['info', 'Information and above'],
  ['warn', 'Warnings and errors'],
  ['error', 'Errors only'],
];

export class LogsView {
  readonly root: HTMLElement;
  private readonly list: HTMLElement;
  private readonly filter: HTMLSelectElement;
  private readonly result: HTMLElement;

  constructor(private readonly ctx: Context) {
    this.filter = h('select', { id: 'log-level' }, FILTERS.map(([v, label]) => h('option', { value: v }, label)));
    this.filter.value = 'info';
    this.filter.addEventListener('change', () => this.render(ctx.store.logs));
    this.list = h('ol', { id: 'log-list', class: 'log-list', 'aria-label': 'Log lines' });
    this.result = h('p', { class: 'result', role: 'status' });
    const exportButton = h('button', { type: 'button', class: 'secondary', id: 'export-diagnostics' }, 'Export diagnostic bundle…');
    exportButton.addEventListener('click', () => void this.exportBundle());
    this.root = h(
      'section',
      { id: 'view-logs', class: 'view', 'aria-labelledby': 'logs-title', hidden: true },
      h('div', { class: 'view-head' }, h('h2', { id: 'logs-title' }, 'Logs'), exportButton),
      h('p', { class: 'hint' }, 'If something does not work, your IT department may ask you for the diagnostic bundle. It contains no passwords.'),
      h('div', { class: 'toolbar' }, h('label', { for: 'log-level' }, 'Show'), this.filter),
      this.result,
      this.list,
    );
    ctx.store.on('logs', (lines) => this.render(lines));
    ctx.store.on('log', (line) => {
      if (!levelAtLeast(line.level, this.level())) return;
      this.list.append(this.row(line));
      while (this.list.childElementCount > 1000) this.list.firstElementChild?.remove();
    });
  }

  async load(): Promise<void> {
    try {
      this.ctx.store.setLogs(await this.ctx.api.recentLogs(500));
    } catch (e) {
      const error = toUiError(e);
      if (!isServiceDown(error)) this.ctx.notices.error(error);
    }
  }

  private level(): LogLevel {
    return this.filter.value as LogLevel;
  }

  private render(lines: LogLine[]): void {
    const min = this.level();
    this.list.replaceChildren(...lines.filter((l) => levelAtLeast(l.level, min)).map((l) => this.row(l)));
  }

  private row(line: LogLine): HTMLElement {
    return h(
      'li',
      { class: `log ${line.level}`, 'data-level': line.level },
      h('time', { datetime: new Date(line.unix_ms).toISOString() }, formatTime(line.unix_ms)),
      ' ',
      h('span', { class: 'level' }, line.level.toUpperCase()),
      ' ',
      h('span', { class: 'message' }, line.message),
    );
  }

  private async exportBundle(): Promise<void> {
    try {
      const path = await save({
        title: 'Save diagnostic bundle',
        defaultPath: 'corridor-diagnostics.zip',
        filters: [{ name: 'Zip archive', extensions: ['zip'] }],
      });
      if (!path) return;
      const out = await this.ctx.api.exportDiagnostics(path);
      this.result.textContent = `Diagnostic bundle saved to ${out.path} (${out.entries.length} files).`;
    } catch (e) {
      this.ctx.notices.error(toUiError(e));
    }
  }
}
