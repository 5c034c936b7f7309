/**
 * A profile's details: the name and user name can be changed unless locked; everything
 * else is read-only, and locked fields say that IT manages them. Also export, forget
 * the saved password, and remove.
 */
import { save } from '@tauri-apps/plugin-dialog';
import type { Context } from '../context';
import { h } from '../dom';
import { toUiError } from '../errors';
import { EDITABLE_FIELDS, type EditableField, fieldLabel, flattenProfile, isLocked, mergePatch, readPath } from '../profile-fields';
import type { ProfileDetails, ProfileSummary } from '../types';
import { confirmDialog, errorBox, openDialog } from './dialogs';

const LOCK_TEXT = 'Managed by your IT department';

function lockNote(): HTMLElement {
  return h('span', { class: 'lock' }, h('span', { 'aria-hidden': 'true' }, '🔒 '), LOCK_TEXT);
}

export async function showDetails(ctx: Context, summary: ProfileSummary): Promise<void> {
  const { api, notices } = ctx;
  let details: ProfileDetails;
  try {
    details = await api.getProfile(summary.id);
  } catch (e) {
    notices.error(toUiError(e));
    return;
  }
  const d = openDialog(`${summary.name}`, { className: 'details' });
  const errorArea = h('div', { class: 'dialog-error' });
  const profile = details.profile;
  const inputs = new Map<EditableField, HTMLInputElement>();
  const form = h('form', { class: 'form', id: 'edit-form' });
  for (const path of EDITABLE_FIELDS) {
    const locked = isLocked(path, details.locked);
    const id = `field-${path.replace('.', '-')}`;
    const value = readPath(profile, path);
    const input = h('input', {
      id,
      type: 'text',
      value: typeof value === 'string' ? value : '',
      readonly: locked,
      'aria-readonly': locked ? 'true' : null,
      'aria-describedby': locked ? `${id}-lock` : null,
      'data-path': path,
    });
    inputs.set(path, input);
    form.append(h('label', { for: id }, fieldLabel(path)), input);
    if (locked) form.append(h('span', { id: `${id}-lock`, class: 'field-note' }, lockNote()));
  }
  const anyEditable = [...EDITABLE_FIELDS].some((p) => !isLocked(p, details.locked));
  const saveButton = h('button', { type: 'submit', class: 'primary', id: 'save-profile', disabled: !anyEditable }, 'Save changes');
  form.append(h('div', { class: 'form-actions' }, saveButton));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const edits: Partial<Record<EditableField, string>> = {};
    for (const [path, input] of inputs) if (!input.readOnly) edits[path] = input.value.trim();
    const patch = mergePatch(profile, edits);
    if (Object.keys(patch).length === 0) {
      d.close();
      return;
    }
    saveButton.disabled = true;
    try {
      await api.editProfile(summary.id, patch);
      d.close();
      notices.done('Your changes were saved.');
      await ctx.refresh();
    } catch (e) {
      errorArea.replaceChildren(errorBox(toUiError(e)));
      saveButton.disabled = false;
    }
  });

  const rows = flattenProfile(profile).filter((r) => !(EDITABLE_FIELDS as readonly string[]).includes(r.path));
  const table = h(
    'dl',
    { class: 'facts profile-fields' },
    rows.flatMap((r) => {
      const locked = details.managed && isLocked(r.path, details.locked);
      return [
        h('dt', {}, fieldLabel(r.path)),
        h('dd', { 'data-path': r.path, class: locked ? 'locked' : null }, r.value, locked ? ' ' : null, locked ? lockNote() : null),
      ];
    }),
  );
  const remembered = details.remembered.password || details.remembered.key_passphrase;
  const forget = h('button', { type: 'button', class: 'secondary', id: 'forget-secrets', disabled: !remembered }, 'Forget saved password');
  forget.addEventListener('click', async () => {
    try {
      await api.forgetSecrets(summary.id);
      forget.disabled = true;
      notices.announce('Saved password forgotten.');
      notices.done(`The saved password for “${summary.name}” was forgotten.`);
      await ctx.refresh();
    } catch (e) {
      errorArea.replaceChildren(errorBox(toUiError(e)));
    }
  });
  const exportButton = h('button', { type: 'button', class: 'secondary', id: 'export-profile' }, 'Export…');
  exportButton.addEventListener('click', async () => {
    try {
      const path = await save({
        title: 'Export VPN profile',
        defaultPath: `${summary.name.replace(/[\\/:*?"<>|]/g, '_')}.json`,
        filters: [{ name: 'Corridor profile', extensions: ['json'] }],
      });
      if (!path) return;
      const written = await api.exportProfile(summary.id, path);
      notices.done(`Profile saved to ${written}.`);
    } catch (e) {
      errorArea.replaceChildren(errorBox(toUiError(e)));
    }
  });
  const canRemove = !details.managed || ctx.store.service.admin;
  const remove = h('button', { type: 'button', class: 'danger', id: 'remove-profile', hidden: !canRemove }, 'Remove…');
  remove.addEventListener('click', async () => {
    const sure = await confirmDialog(
      'Remove profile?',
      `“${summary.name}” will be removed from this computer. You can import it again later.`,
      'Remove',
      true,
    );
    if (!sure) return;
    try {
      await api.removeProfile(summary.id);
      d.close();
      notices.done(`“${summary.name}” was removed.`);
      await ctx.refresh();
    } catch (e) {
      errorArea.replaceChildren(errorBox(toUiError(e)));
    }
  });

  d.body.append(h('div', { class: 'dialog-content' },
    details.managed ? h('p', { class: 'managed-note' }, 'This profile was set up by your IT department. Fields with a lock cannot be changed.') : null,
    form,
    h('h3', {}, 'Settings'),
    table,
    errorArea,
  ));
  d.actions.append(forget, exportButton, remove, h('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Close'));
  await d.closed;
}
