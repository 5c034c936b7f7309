import { describe, expect, test } from 'vitest';
import { fieldLabel, flattenProfile, isLocked, mergePatch } from '../../src/profile-fields';

const profile = {
  format: 'corridor-profile',
  version: 1,
  id: 'x',
  name: 'HQ',
  gateway: { host: 'vpn.example.com', identity: { fqdn: 'vpn.example.com' } },
  auth: { method: 'eap-mschapv2', eap_identity: 'alice' },
  routing: { mode: 'split', include: ['10.0.0.0/8', '2001:db8::/32'], exclude: [] },
  transport: { force_udp_encapsulation: true },
  dns: {},
};

describe('profile fields', () => {
  test('flattens to leaf paths without bookkeeping fields', () => {
    const rows = flattenProfile(profile);
    expect(rows.map((r) => r.path)).toEqual([
      'name',
      'gateway.host',
      'gateway.identity.fqdn',
      'auth.method',
      'auth.eap_identity',
      'routing.mode',
      'routing.include',
      'routing.exclude',
      'transport.force_udp_encapsulation',
    ]);
    expect(rows.find((r) => r.path === 'routing.include')?.value).toBe('10.0.0.0/8, 2001:db8::/32');
    expect(rows.find((r) => r.path === 'routing.exclude')?.value).toBe('(none)');
    expect(rows.find((r) => r.path === 'transport.force_udp_encapsulation')?.value).toBe('yes');
  });

  test('a locked path covers the fields under it, not its neighbours', () => {
    expect(isLocked('auth.eap_identity', ['auth'])).toBe(true);
    expect(isLocked('auth', ['auth'])).toBe(true);
    expect(isLocked('authority', ['auth'])).toBe(false);
    expect(isLocked('name', ['gateway', 'auth'])).toBe(false);
    expect(isLocked('gateway.host', [])).toBe(false);
  });

  test('merge patch holds only what changed', () => {
    expect(mergePatch(profile, { name: 'HQ', 'auth.eap_identity': 'alice' })).toEqual({});
    expect(mergePatch(profile, { 'auth.eap_identity': 'bob' })).toEqual({ auth: { eap_identity: 'bob' } });
    expect(mergePatch(profile, { name: 'Office', 'auth.eap_identity': '' })).toEqual({ name: 'Office', auth: { eap_identity: null } });
  });

  test('labels in words, unknown paths as they are', () => {
    expect(fieldLabel('gateway.host')).toBe('Server');
    expect(fieldLabel('transport.mtu')).toBe('transport.mtu');
  });
});
