import { describe, expect, test } from 'vitest';
import { authLabel, formatBytes, formatUptime, isActive, levelAtLeast, postureBadge, stateLabel } from '../../src/format';

describe('format', () => {
  test('bytes', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(1023)).toBe('1023 bytes');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GB');
  });

  test('uptime', () => {
    expect(formatUptime(5)).toBe('5 s');
    expect(formatUptime(125)).toBe('2 min 5 s');
    expect(formatUptime(3725)).toBe('1 h 2 min');
  });

  test('states in words', () => {
    expect(stateLabel({ state: 'connected' })).toBe('Connected');
    expect(stateLabel({ state: 'reconnecting', attempt: 2, retry_in_secs: 8 })).toBe(
      'Connection lost, trying again in 8 s (attempt 2)',
    );
    expect(isActive({ state: 'disconnected' })).toBe(false);
    expect(isActive({ state: 'reconnecting', attempt: 1, retry_in_secs: 1 })).toBe(true);
  });

  test('posture badge', () => {
    expect(postureBadge('strong')).toMatchObject({ label: 'Strong security', tone: 'good' });
    const legacy = postureBadge('legacy: modp1024 allowed by policy');
    expect(legacy).toMatchObject({ label: 'Older security settings', tone: 'warn' });
    expect(legacy.title).toContain('modp1024 allowed by policy');
  });

  test('auth methods and log levels', () => {
    expect(authLabel('eap-mschapv2')).toBe('User name and password');
    expect(authLabel('cert+eap')).toBe('Certificate and password');
    expect(authLabel('something-new')).toBe('something-new');
    expect(levelAtLeast('error', 'warn')).toBe(true);
    expect(levelAtLeast('info', 'warn')).toBe(false);
    expect(levelAtLeast('debug', 'debug')).toBe(true);
  });
});
