import { describe, expect, test } from 'vitest';
import { LOG_CAPACITY, Store } from '../../src/store';
import type { ConnectionStatus, ProfileSummary } from '../../src/types';

const summary = (id: string, name: string): ProfileSummary => ({
  id,
  name,
  gateway: 'vpn',
  auth: 'psk',
  managed: false,
  posture: 'strong',
});

describe('Store', () => {
  test('profiles are sorted and stale statuses dropped', () => {
    const store = new Store();
    const seen: string[][] = [];
    store.on('profiles', (list) => seen.push(list.map((p) => p.name)));
    const status: ConnectionStatus = { profile: summary('b', 'B'), state: { state: 'connected' }, reason: null, details: null, stats: null };
    store.setStatus(status);
    store.setProfiles([summary('b', 'Beta'), summary('a', 'alpha')]);
    expect(seen).toEqual([['alpha', 'Beta']]);
    expect(store.statuses.has('b')).toBe(true);
    store.setProfiles([summary('a', 'alpha')]);
    expect(store.statuses.has('b')).toBe(false);
  });

  test('stats reach only stats listeners and are kept on the status', () => {
    const store = new Store();
    let statusEvents = 0;
    let statsEvents = 0;
    store.on('status', () => (statusEvents += 1));
    store.on('stats', () => (statsEvents += 1));
    store.setStatus({ profile: summary('a', 'A'), state: { state: 'connected' }, reason: null, details: null, stats: null });
    const stats = { bytes_in: 1, bytes_out: 2, packets_in: 3, packets_out: 4, uptime_secs: 5 };
    store.setStats('a', stats);
    expect([statusEvents, statsEvents]).toEqual([1, 1]);
    expect(store.statuses.get('a')?.stats).toEqual(stats);
  });

  test('logs are capped and listeners can unsubscribe', () => {
    const store = new Store();
    let count = 0;
    const off = store.on('log', () => (count += 1));
    for (let i = 0; i < LOG_CAPACITY + 10; i += 1) {
      store.addLog({ unix_ms: i, level: 'info', target: 't', message: String(i) });
    }
    expect(store.logs).toHaveLength(LOG_CAPACITY);
    expect(store.logs[0]?.message).toBe('10');
    off();
    store.addLog({ unix_ms: 0, level: 'info', target: 't', message: 'x' });
    expect(count).toBe(LOG_CAPACITY + 10);
  });
});
