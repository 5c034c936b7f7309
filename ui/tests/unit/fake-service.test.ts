import { describe, expect, test } from 'vitest';
import { FakeService, HQ_ID } from '../fake/service';

/** The fake used by the component tests follows the contract it stands in for. */
describe('FakeService', () => {
  test('connect: secret_required, then connecting and connected events', () => {
    const events: [string, unknown][] = [];
    const later: (() => void)[] = [];
    const fake = new FakeService((e, p) => events.push([e, p]), (f) => later.push(f));
    expect(() => fake.handle('connect', { profile: HQ_ID, secrets: {}, remember: false })).toThrow();
    try {
      fake.handle('connect', { profile: HQ_ID, secrets: {}, remember: false });
    } catch (e) {
      expect(e).toMatchObject({ code: 'secret_required', needs: 'password' });
    }
    fake.handle('connect', { profile: HQ_ID, secrets: { password: 'pw' }, remember: true });
    expect(events.map(([, p]) => (p as { state: { state: string } }).state.state)).toEqual(['connecting']);
    for (const f of later.splice(0)) f();
    expect(events.map(([, p]) => (p as { state: { state: string } }).state.state)).toEqual(['connecting', 'connected']);
    expect(fake.profiles.get(HQ_ID)?.remembered.password).toBe(true);
  });

  test('service down: commands fail with service_unavailable, service_info still answers', () => {
    const fake = new FakeService(() => undefined);
    fake.setService(false);
    expect(() => fake.handle('list_profiles')).toThrow();
    expect(fake.handle('service_info')).toMatchObject({ connected: false });
  });
});
