/** Plain-language text for numbers and states shown to employees. */
import type { ConnectionState, LogLevel } from './types';

/** 1536 -> "1.5 KB": short enough for a status line. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** 3725 -> "1 h 2 min 5 s". */
export function formatUptime(secs: number): string {
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = Math.floor(secs % 60);
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

/** The state as one short phrase. */
export function stateLabel(state: ConnectionState): string {
  switch (state.state) {
    case 'disconnected':
      return 'Not connected';
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      return 'Connected';
    case 'reconnecting':
      return `Connection lost, trying again in ${state.retry_in_secs} s (attempt ${state.attempt})`;
    case 'disconnecting':
      return 'Disconnecting…';
  }
}

/** Whether the main button of a profile connects or disconnects. */
export function isActive(state: ConnectionState): boolean {
  return state.state !== 'disconnected';
}

export interface PostureBadge {
  label: string;
  tone: 'good' | 'warn';
  title: string;
}

/**
 * The service writes `strong` or `legacy: <why>`; employees see "Strong security" or
 * "Older security settings" and the reason on hover and in the details.
 */
export function postureBadge(posture: string): PostureBadge {
  const text = posture.trim();
  if (text === '' || text === 'strong') {
    return { label: 'Strong security', tone: 'good', title: 'Uses current, strong encryption.' };
  }
  const why = text.replace(/^legacy:\s*/, '');
  return { label: 'Older security settings', tone: 'warn', title: `Uses older encryption (${why}).` };
}

/** How a profile signs in, in words. */
export function authLabel(auth: string): string {
  switch (auth) {
    case 'eap-mschapv2':
    case 'eap-md5':
    case 'eap-gtc':
      return 'User name and password';
    case 'eap-tls':
    case 'cert':
      return 'Certificate';
    case 'cert+eap':
      return 'Certificate and password';
    case 'psk':
      return 'Shared key';
    default:
      return auth;
  }
}

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** True when `level` is `min` or more severe. */
export function levelAtLeast(level: LogLevel, min: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(min);
}

export function formatTime(unixMs: number): string {
  const d = new Date(unixMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
