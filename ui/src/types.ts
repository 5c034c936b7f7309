/**
 * The data shapes of the contract between this page and the app's Rust side
 * (see the desktop app contract: field names are the IPC crate's snake_case names).
 */

/** Why a command failed; `message` is written for the user, `details` for support. */
export interface UiError {
  code: ErrorCode;
  message: string;
  details?: string;
  needs?: SecretKind;
}

export type ErrorCode =
  | 'service_unavailable'
  | 'secret_required'
  | 'not_found'
  | 'conflict'
  | 'invalid_profile'
  | 'unauthorized'
  | 'bad_request'
  | 'keychain'
  | 'io'
  | 'internal';

export type SecretKind = 'password' | 'key_passphrase';

export interface ServiceInfo {
  connected: boolean;
  server: string | null;
  user: string | null;
  admin: boolean;
  message: string | null;
}

/** A profile as the service lists it (plus the app's keychain and default flags). */
export interface ProfileSummary {
  id: string;
  name: string;
  gateway: string;
  auth: string;
  managed: boolean;
  posture: string;
  remembered?: boolean;
  is_default?: boolean;
}

export type ConnectionState =
  | { state: 'disconnected' }
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'reconnecting'; attempt: number; retry_in_secs: number }
  | { state: 'disconnecting' };

export interface ConnectedDetails {
  virtual_ips: string[];
  gateway: string;
  ike_suite: string;
  esp_suite: string;
  routes: string[];
  dns_servers: string[];
  dns_domains: string[];
}

export interface Stats {
  bytes_in: number;
  bytes_out: number;
  packets_in: number;
  packets_out: number;
  uptime_secs: number;
}

export interface ConnectionStatus {
  profile: ProfileSummary;
  state: ConnectionState;
  reason: string | null;
  details: ConnectedDetails | null;
  stats: Stats | null;
}

export interface StatsEvent {
  profile: string;
  stats: Stats;
}

export interface ImportNote {
  source: string;
  outcome: string;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  unix_ms: number;
  level: LogLevel;
  target: string;
  message: string;
}

export interface SecretFlags {
  password: boolean;
  key_passphrase: boolean;
}

/** The Corridor profile JSON object (secrets removed); shown field by field. */
export type ProfileJson = Record<string, unknown> & { id: string; name: string };

export interface ProfileDetails {
  profile: ProfileJson;
  managed: boolean;
  locked: string[];
  remembered: SecretFlags;
}

export interface ImportPreview {
  file_name: string;
  path: string;
  profile: ProfileSummary;
  report: ImportNote[];
  carries: SecretFlags;
  signed: boolean;
  replaces: ProfileSummary | null;
}

export interface ImportResult {
  profile: ProfileSummary;
  report: ImportNote[];
  notes: string[];
}

export interface EditResult {
  profile: ProfileSummary;
  changed: string[];
}

export interface ConnectSecrets {
  username?: string;
  password?: string;
  key_passphrase?: string;
}

export interface DiagnosticsResult {
  path: string;
  entries: string[];
}

export interface Settings {
  start_at_login: boolean;
  connect_at_start: string | null;
  default_profile: string | null;
  notifications: boolean;
}

export interface OpenFileEvent {
  path: string;
}
