/**
 * Loaded as the page's first module in component tests: replaces the Tauri IPC with
 * the in-memory {@link FakeService} before the app's code runs. The query string
 * chooses the start: `?service=down`, `?pending=/path/a.sswan`.
 */
import { emit } from '@tauri-apps/api/event';
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import { FakeService } from './service';

declare global {
  interface Window {
    __fake: FakeService;
  }
}

mockWindows('main');
const fake = new FakeService((event, payload) => void emit(event, payload));
const query = new URLSearchParams(location.search);
if (query.get('service') === 'down') {
  fake.service = { ...fake.service, connected: false, message: 'The Corridor service is not running on this computer.' };
}
fake.pending = query.getAll('pending');
window.__fake = fake;
mockIPC((cmd, args) => fake.handle(cmd, args), { shouldMockEvents: true });
