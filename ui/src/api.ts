/**
 * Typed wrappers of the commands and events of the contract with the app's Rust side.
 * Every command rejects with a {@link UiError}; nothing else in the page calls `invoke`.
 */
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { toUiError } from './errors';
import type {
  ConnectSecrets,
  ConnectionStatus,
  DiagnosticsResult,
  EditResult,
  ImportPreview,
  ImportResult,
  LogLine,
  OpenFileEvent,
  ProfileDetails,
  ProfileSummary,
  ServiceInfo,
  Settings,
  StatsEvent,
} from './types';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toUiError(error);
  }
}

export const api = {
  serviceInfo: () => call<ServiceInfo>('service_info'),
  listProfiles: () => call<ProfileSummary[]>('list_profiles'),
  getProfile: (profile: string) => call<ProfileDetails>('get_profile', { profile }),
  previewImport: (path: string) => call<ImportPreview>('preview_import', { path }),
  importProfile: (path: string, replace: boolean, remember: boolean) =>
    call<ImportResult>('import_profile', { path, replace, remember }),
  removeProfile: (profile: string) => call<void>('remove_profile', { profile }),
  editProfile: (profile: string, changes: Record<string, unknown>) =>
    call<EditResult>('edit_profile', { profile, changes }),
  exportProfile: (profile: string, path: string) => call<string>('export_profile', { profile, path }),
  connect: (profile: string, secrets: ConnectSecrets, remember: boolean) =>
    call<void>('connect', { profile, secrets, remember }),
  disconnect: (profile: string | null) => call<void>('disconnect', { profile }),
  status: () => call<ConnectionStatus[]>('status'),
  forgetSecrets: (profile: string) => call<void>('forget_secrets', { profile }),
  recentLogs: (limit: number) => call<LogLine[]>('recent_logs', { limit }),
  exportDiagnostics: (path: string) => call<DiagnosticsResult>('export_diagnostics', { path }),
  getSettings: () => call<Settings>('get_settings'),
  setSettings: (settings: Settings) => call<Settings>('set_settings', { settings }),
  takePendingFiles: () => call<string[]>('take_pending_files'),
};

export type Api = typeof api;

/** The events the Rust side emits to every window. */
export interface EventMap {
  service: ServiceInfo;
  state: ConnectionStatus;
  stats: StatsEvent;
  log: LogLine;
  'open-file': OpenFileEvent;
}

export function on<K extends keyof EventMap>(name: K, handler: (payload: EventMap[K]) => void): Promise<UnlistenFn> {
  return listen<EventMap[K]>(name, (event) => handler(event.payload));
}
