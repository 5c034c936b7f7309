/**
 * The credential prompt: a password (with the user name) or a key passphrase, and
 * "Remember in keychain". Resolves null when cancelled (button or Escape).
 */
import type { PromptAnswer } from '../connect-flow';
import { h } from '../dom';
import type { ProfileSummary, SecretKind } from '../types';
import { openDialog } from './dialogs';

export function askSecret(profile: ProfileSummary, needs: SecretKind, hint: string, username?: string): Promise<PromptAnswer | null> {
  const isPassword = needs === 'password';
  const d = openDialog(isPassword ? `Sign in to ${profile.name}` : `Unlock your certificate for ${profile.name}`, {
    className: 'prompt',
  });
  let answer: PromptAnswer | null = null;
  const user = h('input', { id: 'prompt-username', type: 'text', autocomplete: 'username', value: username ?? '' });
  const secret = h('input', {
    id: 'prompt-secret',
    type: 'password',
    autocomplete: isPassword ? 'current-password' : 'off',
    required: true,
  });
  const remember = h('input', { id: 'prompt-remember', type: 'checkbox' });
  const form = h(
    'form',
    { method: 'dialog', class: 'form' },
    h('p', {}, hint),
    isPassword ? h('label', { for: 'prompt-username' }, 'User name') : null,
    isPassword ? user : null,
    h('label', { for: 'prompt-secret' }, isPassword ? 'Password' : 'Certificate passphrase'),
    secret,
    h('label', { class: 'check' }, remember, ' Remember in keychain'),
  );
  const ok = h('button', { type: 'submit', class: 'primary' }, 'Connect');
  const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Cancel');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (secret.value === '') {
      secret.focus();
      return;
    }
    answer = { secret: secret.value, remember: remember.checked };
    if (isPassword && user.value !== (username ?? '')) answer.username = user.value;
    d.close();
  });
  // The buttons sit inside the form so Enter in either field submits it.
  form.append(h('div', { class: 'dialog-actions' }, cancel, ok));
  d.actions.remove();
  d.body.append(form);
  queueMicrotask(() => (isPassword && user.value === '' ? user : secret).focus());
  return d.closed.then(() => answer);
}
