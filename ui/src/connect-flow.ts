/**
 * Connecting: call `connect`; when the service answers `secret_required`, ask for the
 * secret it names and call again with it (a certificate-and-password profile may ask
 * twice: password, then key passphrase). Cancelling the prompt stops quietly.
 */
import type { Api } from './api';
import { toUiError } from './errors';
import type { ConnectSecrets, ProfileSummary, SecretKind, UiError } from './types';

export interface PromptAnswer {
  secret: string;
  username?: string;
  remember: boolean;
}

export type AskSecret = (profile: ProfileSummary, needs: SecretKind, retry: UiError) => Promise<PromptAnswer | null>;

export type ConnectOutcome = { kind: 'accepted' } | { kind: 'cancelled' } | { kind: 'failed'; error: UiError };

/** Safety net against a service that keeps asking for the same secret. */
const MAX_PROMPTS = 4;

export async function connectWithPrompts(
  api: Pick<Api, 'connect'>,
  profile: ProfileSummary,
  ask: AskSecret,
): Promise<ConnectOutcome> {
  const secrets: ConnectSecrets = {};
  let remember = false;
  for (let round = 0; ; round += 1) {
    try {
      await api.connect(profile.id, secrets, remember);
      return { kind: 'accepted' };
    } catch (raw) {
      const error = toUiError(raw);
      if (error.code !== 'secret_required' || !error.needs || round >= MAX_PROMPTS) {
        return { kind: 'failed', error };
      }
      const answer = await ask(profile, error.needs, error);
      if (!answer) return { kind: 'cancelled' };
      secrets[error.needs] = answer.secret;
      if (answer.username !== undefined && answer.username !== '') secrets.username = answer.username;
      remember = remember || answer.remember;
    }
  }
}
