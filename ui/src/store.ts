/**
 * The page's state: what the service said last. Views subscribe to one topic each, so
 * a stats tick touches only the card it belongs to and never re-renders the list.
 */
import type { ConnectionStatus, LogLine, ProfileSummary, ServiceInfo, Settings, Stats } from './types';

export interface Topics {
  service: ServiceInfo;
  profiles: ProfileSummary[];
  status: ConnectionStatus;
  stats: { profile: string; stats: Stats };
  log: LogLine;
  logs: LogLine[];
  settings: Settings;
}

type Listener<T> = (value: T) => void;

/** Most recent log lines kept in memory for the logs view. */
export const LOG_CAPACITY = 1000;

export class Store {
  service: ServiceInfo = { connected: true, server: null, user: null, admin: false, message: null };
  profiles: ProfileSummary[] = [];
  readonly statuses = new Map<string, ConnectionStatus>();
  logs: LogLine[] = [];
  settings: Settings | null = null;
  private readonly listeners = new Map<keyof Topics, Set<Listener<never>>>();

  on<K extends keyof Topics>(topic: K, listener: Listener<Topics[K]>): () => void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  private emit<K extends keyof Topics>(topic: K, value: Topics[K]): void {
    for (const l of this.listeners.get(topic) ?? []) (l as Listener<Topics[K]>)(value);
  }

  setService(info: ServiceInfo): void {
    this.service = info;
    this.emit('service', info);
  }

  setProfiles(list: ProfileSummary[]): void {
    this.profiles = [...list].sort((a, b) => a.name.localeCompare(b.name));
    const ids = new Set(list.map((p) => p.id));
    for (const id of [...this.statuses.keys()]) if (!ids.has(id)) this.statuses.delete(id);
    this.emit('profiles', this.profiles);
  }

  setStatus(status: ConnectionStatus): void {
    this.statuses.set(status.profile.id, status);
    this.emit('status', status);
  }

  /** A stats tick: kept on the status so a later re-render shows the latest numbers. */
  setStats(profile: string, stats: Stats): void {
    const status = this.statuses.get(profile);
    if (status) status.stats = stats;
    this.emit('stats', { profile, stats });
  }

  setLogs(lines: LogLine[]): void {
    this.logs = lines.slice(-LOG_CAPACITY);
    this.emit('logs', this.logs);
  }

  addLog(line: LogLine): void {
    this.logs.push(line);
    if (this.logs.length > LOG_CAPACITY) this.logs.splice(0, this.logs.length - LOG_CAPACITY);
    this.emit('log', line);
  }

  setSettings(settings: Settings): void {
    this.settings = settings;
    this.emit('settings', settings);
  }

  profile(id: string): ProfileSummary | undefined {
    return this.profiles.find((p) => p.id === id);
  }
}
