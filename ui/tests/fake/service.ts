/**
 * An in-memory stand-in for the app's Rust side, implementing the page's contract:
 * two profiles (one the user's own, one managed with locks), status transitions,
 * `secret_required` until a secret is given, import preview and import, logs, settings.
 * Component tests drive it through `window.__fake`; unit tests use it directly.
 */
import type {
  ConnectionStatus,
  ImportPreview,
  LogLine,
  ProfileDetails,
  ProfileJson,
  ProfileSummary,
  ServiceInfo,
  Settings,
  Stats,
  UiError,
} from '../../src/types';

export type Emit = (event: string, payload: unknown) => void;

export const HQ_ID = '5e1f9a52-3c1b-4c7e-8a55-2b9d0c000001';
export const BRANCH_ID = '5e1f9a52-3c1b-4c7e-8a55-2b9d0c000002';
export const IMPORTED_ID = '5e1f9a52-3c1b-4c7e-8a55-2b9d0c000003';

interface StoredProfile {
  json: ProfileJson;
  managed: boolean;
  locked: string[];
  posture: string;
  needs: ('password' | 'key_passphrase')[];
  remembered: { password: boolean; key_passphrase: boolean };
}

function fail(code: UiError['code'], message: string, extra: Partial<UiError> = {}): UiError {
  return { code, message, ...extra };
}

export class FakeService {
  readonly calls: { cmd: string; args: Record<string, unknown> }[] = [];
  service: ServiceInfo = { connected: true, server: 'corridord 0.1.0', user: 'alice', admin: false, message: null };
  settings: Settings = { start_at_login: false, connect_at_start: null, default_profile: HQ_ID, notifications: true };
  pending: string[] = [];
  nextOpen: string | null = null;
  nextSave: string | null = null;
  logs: LogLine[] = [
    { unix_ms: 1_700_000_000_000, level: 'debug', target: 'corridord', message: 'loaded 2 profiles' },
    { unix_ms: 1_700_000_001_000, level: 'info', target: 'corridord', message: 'service started' },
    { unix_ms: 1_700_000_002_000, level: 'warn', target: 'corridor_ike', message: 'gateway offered a weak group' },
  ];
  readonly profiles = new Map<string, StoredProfile>();
  readonly statuses = new Map<string, ConnectionStatus>();
  constructor(private readonly emit: Emit, private readonly defer: (f: () => void) => void = (f) => setTimeout(f, 0)) {
    this.profiles.set(HQ_ID, {
      json: {
        format: 'corridor-profile',
        version: 1,
        id: HQ_ID,
        name: 'HQ',
        gateway: { host: 'vpn.example.com' },
        auth: { method: 'eap-mschapv2', eap_identity: 'alice' },
        proposals: { ike: ['aes256gcm16-prfsha384-ecp384'], esp: ['aes256gcm16'] },
        routing: { mode: 'split', include: ['10.0.0.0/8'] },
      },
      managed: false,
      locked: [],
      posture: 'strong',
      needs: ['password'],
      remembered: { password: false, key_passphrase: false },
    });
    this.profiles.set(BRANCH_ID, {
      json: {
        format: 'corridor-profile',
        version: 1,
        id: BRANCH_ID,
        name: 'Branch Office',
        gateway: { host: 'branch.example.com' },
        auth: { method: 'eap-mschapv2', eap_identity: 'alice' },
        routing: { mode: 'full' },
      },
      managed: true,
      locked: ['gateway', 'trust', 'auth', 'proposals', 'routing', 'dns', 'transport'],
      posture: 'legacy: modp1024 allowed by policy',
      needs: ['password'],
      remembered: { password: true, key_passphrase: false },
    });
  }

  summary(id: string): ProfileSummary {
    const p = this.profiles.get(id);
    if (!p) throw fail('not_found', 'This profile no longer exists.');
    const auth = p.json.auth as { method: string };
    return {
      id,
      name: p.json.name,
      gateway: (p.json.gateway as { host: string }).host,
      auth: auth.method,
      managed: p.managed,
      posture: p.posture,
      remembered: p.remembered.password || p.remembered.key_passphrase,
      is_default: this.settings.default_profile === id,
    };
  }

  private status(id: string): ConnectionStatus {
    return (
      this.statuses.get(id) ?? { profile: this.summary(id), state: { state: 'disconnected' }, reason: null, details: null, stats: null }
    );
  }

  private setState(id: string, patch: Partial<ConnectionStatus>): void {
    const s = { ...this.status(id), ...patch, profile: this.summary(id) };
    this.statuses.set(id, s);
    this.emit('state', s);
  }

  /** Makes the service go away or come back, as the app's `service` event says. */
  setService(connected: boolean): void {
    this.service = {
      ...this.service,
      connected,
      message: connected ? null : 'The Corridor service is not running on this computer.',
    };
    this.emit('service', this.service);
  }

  emitStats(profile: string, stats: Stats): void {
    this.emit('stats', { profile, stats });
  }

  /** What the webview reports while a file is dragged over the window. */
  emitDrag(type: 'enter' | 'drop' | 'leave', paths: string[]): void {
    const position = { x: 10, y: 10 };
    if (type === 'enter') this.emit('tauri://drag-enter', { paths, position });
    else if (type === 'drop') this.emit('tauri://drag-drop', { paths, position });
    else this.emit('tauri://drag-leave', null);
  }

  emitOpenFile(path: string): void {
    this.emit('open-file', { path });
  }

  emitLog(level: LogLine['level'], message: string): void {
    const line: LogLine = { unix_ms: 1_700_000_100_000, level, target: 'corridord', message };
    this.logs.push(line);
    this.emit('log', line);
  }

  private requireService(): void {
    if (!this.service.connected) {
      throw fail('service_unavailable', 'The Corridor service is not running.', { details: 'connect /run/corridord.sock: no such file' });
    }
  }

  handle(cmd: string, rawArgs?: unknown): unknown {
    const args = (rawArgs ?? {}) as Record<string, unknown>;
    this.calls.push({ cmd, args: JSON.parse(JSON.stringify(args)) as Record<string, unknown> });
    switch (cmd) {
      case 'plugin:dialog|open':
        return this.nextOpen;
      case 'plugin:dialog|save':
        return this.nextSave;
      case 'service_info':
        return this.service;
      case 'take_pending_files': {
        const out = this.pending;
        this.pending = [];
        return out;
      }
      case 'get_settings':
        return this.settings;
      case 'set_settings':
        this.settings = args.settings as Settings;
        return this.settings;
    }
    this.requireService();
    switch (cmd) {
      case 'list_profiles':
        return [...this.profiles.keys()].map((id) => this.summary(id)).sort((a, b) => a.name.localeCompare(b.name));
      case 'status':
        return [...this.statuses.values()];
      case 'get_profile': {
        const p = this.profiles.get(args.profile as string);
        if (!p) throw fail('not_found', 'This profile no longer exists.');
        const out: ProfileDetails = { profile: p.json, managed: p.managed, locked: p.locked, remembered: p.remembered };
        return out;
      }
      case 'connect':
        return this.connect(args);
      case 'disconnect':
        return this.disconnect(args.profile as string | null);
      case 'preview_import':
        return this.preview(args.path as string);
      case 'import_profile':
        return this.importProfile(args.path as string, args.replace === true);
      case 'edit_profile':
        return this.edit(args.profile as string, args.changes as Record<string, unknown>);
      case 'remove_profile':
        this.summary(args.profile as string);
        this.profiles.delete(args.profile as string);
        return null;
      case 'export_profile':
        return args.path;
      case 'forget_secrets': {
        const p = this.profiles.get(args.profile as string);
        if (p) p.remembered = { password: false, key_passphrase: false };
        return null;
      }
      case 'recent_logs':
        return this.logs.slice(-(args.limit as number));
      case 'export_diagnostics':
        return { path: args.path, entries: ['logs.txt', 'versions.txt', 'profiles.json'] };
    }
    throw fail('bad_request', `Unknown command ${cmd}`);
  }

  private connect(args: Record<string, unknown>): null {
    const id = args.profile as string;
    const p = this.profiles.get(id);
    if (!p) throw fail('not_found', 'This profile no longer exists.');
    const secrets = (args.secrets ?? {}) as Record<string, string | undefined>;
    for (const need of p.needs) {
      if (!secrets[need] && !p.remembered[need]) {
        throw fail('secret_required', need === 'password' ? 'Enter your password to connect.' : 'Enter the passphrase of your certificate.', {
          needs: need,
        });
      }
    }
    this.setState(id, { state: { state: 'connecting' }, reason: null });
    this.defer(() => {
      this.setState(id, {
        state: { state: 'connected' },
        reason: null,
        details: {
          virtual_ips: ['10.8.0.17'],
          gateway: '198.18.0.1',
          ike_suite: 'aes256gcm16-prfsha384-ecp384',
          esp_suite: 'aes256gcm16',
          routes: ['10.0.0.0/8'],
          dns_servers: ['10.0.0.53'],
          dns_domains: ['corp.example.com'],
        },
        stats: { bytes_in: 2048, bytes_out: 1024, packets_in: 4, packets_out: 2, uptime_secs: 5 },
      });
      if (args.remember === true) for (const need of p.needs) if (secrets[need]) p.remembered[need] = true;
    });
    return null;
  }

  private disconnect(profile: string | null): null {
    const ids = profile ? [profile] : [...this.statuses.keys()];
    for (const id of ids) {
      this.setState(id, { state: { state: 'disconnecting' } });
      this.defer(() => this.setState(id, { state: { state: 'disconnected' }, reason: 'Disconnected by you.', details: null, stats: null }));
    }
    return null;
  }

  private preview(path: string): ImportPreview {
    const file = path.split(/[\\/]/).pop() ?? path;
    if (file.endsWith('.txt')) {
      throw fail('invalid_profile', 'This file is not a VPN profile Corridor can read.', {
        details: `${file}: no known profile format (expected JSON, XML, .sswan, .mobileconfig)`,
      });
    }
    const replaces = file.startsWith('hq') ? this.summary(HQ_ID) : null;
    return {
      file_name: file,
      path,
      profile: {
        id: replaces ? HQ_ID : IMPORTED_ID,
        name: replaces ? 'HQ' : 'Imported Office',
        gateway: 'office.example.com',
        auth: 'eap-mschapv2',
        managed: false,
        posture: 'strong',
      },
      report: [
        { source: 'remote.addr', outcome: 'mapped to gateway.host' },
        { source: 'local.eap_id', outcome: 'mapped to auth.eap_identity' },
        { source: 'split-routing', outcome: 'dropped: not supported' },
      ],
      carries: { password: true, key_passphrase: false },
      signed: false,
      replaces,
    };
  }

  private importProfile(path: string, replace: boolean): unknown {
    const preview = this.preview(path);
    if (preview.replaces && !replace) throw fail('conflict', 'A profile with this name already exists.');
    this.profiles.set(preview.profile.id, {
      json: {
        format: 'corridor-profile',
        version: 1,
        id: preview.profile.id,
        name: preview.profile.name,
        gateway: { host: preview.profile.gateway },
        auth: { method: 'eap-mschapv2', eap_identity: 'alice' },
      },
      managed: false,
      locked: [],
      posture: 'strong',
      needs: ['password'],
      remembered: { password: false, key_passphrase: false },
    });
    return { profile: this.summary(preview.profile.id), report: preview.report, notes: [] };
  }

  private edit(id: string, changes: Record<string, unknown>): unknown {
    const p = this.profiles.get(id);
    if (!p) throw fail('not_found', 'This profile no longer exists.');
    const changed: string[] = [];
    if (typeof changes.name === 'string') {
      p.json.name = changes.name;
      changed.push('name');
    }
    const auth = changes.auth as Record<string, unknown> | undefined;
    if (auth) {
      if (p.locked.includes('auth')) throw fail('unauthorized', 'Your IT department manages this setting.');
      Object.assign(p.json.auth as object, auth);
      changed.push('auth.eap_identity');
    }
    return { profile: this.summary(id), changed };
  }
}
