import { describe, expect, test } from 'vitest';
import { connectWithPrompts, type AskSecret } from '../../src/connect-flow';
import type { ConnectSecrets, ProfileSummary, SecretKind } from '../../src/types';

const profile: ProfileSummary = { id: 'p1', name: 'HQ', gateway: 'vpn', auth: 'cert+eap', managed: false, posture: 'strong' };

/** A service needing the given secrets, in order; records every connect call. */
function service(needs: SecretKind[]) {
  const calls: { secrets: ConnectSecrets; remember: boolean }[] = [];
  return {
    calls,
    api: {
      connect: async (_id: string, secrets: ConnectSecrets, remember: boolean) => {
        calls.push({ secrets: { ...secrets }, remember });
        const missing = needs.find((n) => !secrets[n]);
        if (missing) throw { code: 'secret_required', message: `need ${missing}`, needs: missing };
      },
    },
  };
}

describe('connectWithPrompts', () => {
  test('connects at once when nothing is missing', async () => {
    const s = service([]);
    const ask: AskSecret = () => Promise.reject(new Error('not asked'));
    await expect(connectWithPrompts(s.api, profile, ask)).resolves.toEqual({ kind: 'accepted' });
    expect(s.calls).toEqual([{ secrets: {}, remember: false }]);
  });

  test('asks for each secret the service names, keeping earlier ones', async () => {
    const s = service(['password', 'key_passphrase']);
    const asked: string[] = [];
    const ask: AskSecret = async (_p, needs, why) => {
      asked.push(`${needs}: ${why.message}`);
      return needs === 'password' ? { secret: 'pw', username: 'bob', remember: true } : { secret: 'kp', remember: false };
    };
    await expect(connectWithPrompts(s.api, profile, ask)).resolves.toEqual({ kind: 'accepted' });
    expect(asked).toEqual(['password: need password', 'key_passphrase: need key_passphrase']);
    expect(s.calls[2]).toEqual({ secrets: { password: 'pw', username: 'bob', key_passphrase: 'kp' }, remember: true });
  });

  test('cancel stops; other errors are returned', async () => {
    const s = service(['password']);
    await expect(connectWithPrompts(s.api, profile, async () => null)).resolves.toEqual({ kind: 'cancelled' });
    expect(s.calls).toHaveLength(1);
    const failing = { connect: async () => Promise.reject({ code: 'not_found', message: 'gone' }) };
    await expect(connectWithPrompts(failing, profile, async () => null)).resolves.toEqual({
      kind: 'failed',
      error: { code: 'not_found', message: 'gone' },
    });
  });

  test('a service that keeps asking is given up on', async () => {
    const stubborn = {
      connect: async () => Promise.reject({ code: 'secret_required', message: 'again', needs: 'password' }),
    };
    const out = await connectWithPrompts(stubborn, profile, async () => ({ secret: 'x', remember: false }));
    expect(out.kind).toBe('failed');
  });
});
